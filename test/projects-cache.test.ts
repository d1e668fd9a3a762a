// Projects are looked up on every token request; on SQLite they are kept in memory between
// changes (src/projects/projects.ts). A change made through this process is seen by the next
// lookup; one committed by another connection to the file (the command line) from the next
// event-loop turn on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Sqlite from 'better-sqlite3';
import { createTestApp, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';

describe('project lookups see every change', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('an update, a new secret and a deletion made here are seen by the next lookup', async () => {
    const { projects } = app.services;
    const created = await projects.create({ id: 'cached-app', name: 'Cached', redirect_uris: ['https://a.test/cb'] });
    assert.ok(created);
    assert.deepEqual((await projects.find('cached-app'))?.project.redirect_uris, ['https://a.test/cb']);

    await projects.update('cached-app', { redirect_uris: ['https://b.test/cb'], access_token_ttl_seconds: 60 });
    const updated = await projects.find('cached-app');
    assert.deepEqual(updated?.project.redirect_uris, ['https://b.test/cb']);
    assert.equal(updated?.project.access_token_ttl_seconds, 60);
    assert.equal(updated?.secretHash, null);

    const secret = await projects.rotateSecret('cached-app');
    assert.ok(secret);
    const confidential = await projects.find('cached-app');
    assert.ok(confidential);
    assert.equal(projects.secretMatches(confidential, secret), true);
    assert.equal(projects.secretMatches(confidential, undefined), false);

    assert.equal(await projects.delete('cached-app'), true);
    assert.equal(await projects.find('cached-app'), undefined);
  });

  it('a lookup made while a deletion is under way is not kept afterwards', async () => {
    const { projects } = app.services;
    await projects.create({ id: 'racing-app', name: 'Racing', redirect_uris: ['https://a.test/cb'] });
    assert.ok(await projects.find('racing-app'));
    const deleting = projects.delete('racing-app');
    const during = projects.find('racing-app');
    assert.equal(await deleting, true);
    await during;
    assert.equal(await projects.find('racing-app'), undefined);
  });

  it('answers are frozen: a caller cannot change what the next caller gets', async () => {
    const record = await app.services.projects.find('console');
    assert.ok(record);
    assert.throws(() => {
      (record.project as { name: string }).name = 'changed';
    }, TypeError);
    assert.throws(() => record.project.redirect_uris.push('https://evil.test/cb'), TypeError);
    assert.equal((await app.services.projects.find('console'))?.project.name, 'Gatehouse console');
  });

  it('a change committed by another connection to the SQLite file (the command line) is seen from the next event-loop turn on', { skip: testBackend !== 'sqlite' && 'one SQLite file shared by two connections' }, async () => {
    const { projects, database } = app.services;
    await projects.create({ id: 'cli-app', name: 'Before', redirect_uris: ['https://a.test/cb'] });
    const first = await projects.find('cli-app');
    assert.equal(first?.project.name, 'Before');
    await nextTurn();
    assert.equal(await projects.find('cli-app'), first, 'a lookup in a later turn is served from memory');

    const other = new Sqlite(database.sqlite!.name);
    try {
      other.prepare("UPDATE projects SET name = 'After', redirect_uris = '[\"https://c.test/cb\"]' WHERE id = 'cli-app'").run();
      await nextTurn();
      const changed = await projects.find('cli-app');
      assert.equal(changed?.project.name, 'After');
      assert.deepEqual(changed?.project.redirect_uris, ['https://c.test/cb']);
      other.prepare("DELETE FROM projects WHERE id = 'cli-app'").run();
      await nextTurn();
      assert.equal(await projects.find('cli-app'), undefined);
    } finally {
      other.close();
    }
  });

  it('through HTTP: a PATCHed redirect URI applies to the very next authorization request', async () => {
    const { projects } = app.services;
    await projects.create({ id: 'http-app', name: 'Http', redirect_uris: ['https://a.test/cb'] });
    const authorize = (redirectUri: string) =>
      app.server.inject({
        method: 'GET',
        url: `/authorize?${new URLSearchParams({ client_id: 'http-app', redirect_uri: redirectUri, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', state: 's' })}`,
        headers: { accept: 'application/json' },
      });
    assert.equal((await authorize('https://a.test/cb')).statusCode, 200);
    await projects.update('http-app', { redirect_uris: ['https://b.test/cb'] });
    assert.equal((await authorize('https://a.test/cb')).statusCode, 400);
    assert.equal((await authorize('https://b.test/cb')).statusCode, 200);
  });
});
