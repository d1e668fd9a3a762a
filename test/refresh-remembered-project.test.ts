// On PostgreSQL the refresh grant judges the client by the project as this instance last read it,
// and the grant's one read of the token checks the project's revision (decision 0140). A change
// made by another instance (here: a ProjectService of its own on the same database, as another
// process has) is therefore seen by the very next refresh here, with the answers of SPEC.md in
// their order. On SQLite one process has the file and its cache sees every change of other
// connections (test/projects-cache.test.ts); these run there too, with the app's own service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { ProjectService } from '../src/projects/projects.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { createProject, createUser, passwordTokens, refresh, type TestProject } from './support/flow.ts';

const PASSWORD = 'a passphrase long enough';

describe('a refresh after another instance changed the project', () => {
  let app: TestApp;
  let other: ProjectService;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TOKEN_RATE_LIMIT: '1000' } });
    const { database, clock, ids, config } = app.services;
    other = database.othersCommitted ? app.services.projects : new ProjectService(database.db, clock, ids, config);
  });
  after(() => app.close());

  async function signedIn(options: { confidential?: boolean } = {}): Promise<{ project: TestProject; refreshToken: string }> {
    const project = await createProject(app, options);
    const email = `${project.id}@example.com`;
    await createUser(app, email, PASSWORD, project.id);
    const tokens = await passwordTokens(app, project, email, PASSWORD);
    // One refresh here first: this instance now remembers the project.
    const first = await refresh(app, project, tokens.refresh_token);
    assert.equal(first.statusCode, 200, first.body);
    return { project, refreshToken: String(first.json().refresh_token) };
  }

  it('a secret renewed elsewhere: the old one answers 401 Invalid client_secret, the new one refreshes', async () => {
    const { project, refreshToken } = await signedIn({ confidential: true });
    const secret = await other.rotateSecret(project.id);
    const old = await refresh(app, project, refreshToken);
    assert.deepEqual([old.statusCode, old.json()], [401, { error: 'Invalid client_secret' }]);
    const renewed = await refresh(app, { ...project, clientSecret: secret }, refreshToken);
    assert.equal(renewed.statusCode, 200, renewed.body);
  });

  it('the old secret with an unknown refresh token still answers Invalid client_secret first', async () => {
    const { project } = await signedIn({ confidential: true });
    await other.rotateSecret(project.id);
    const res = await refresh(app, project, 'not-a-token-anyone-made');
    assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid client_secret' }]);
  });

  it('a signing algorithm changed elsewhere signs the next ID token', async () => {
    const { project, refreshToken } = await signedIn();
    await other.update(project.id, { token_signing_alg: 'RS256' });
    const res = await refresh(app, project, refreshToken);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(decodeProtectedHeader(String(res.json().id_token)).alg, 'RS256');
  });

  it('a session lifetime set elsewhere ends the session at its next refresh', async () => {
    const { project, refreshToken } = await signedIn();
    await other.update(project.id, { session_max_seconds: 60 });
    app.clock.advance(120_000);
    const res = await refresh(app, project, refreshToken);
    assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Refresh token expired' }]);
  });

  it('the project deleted elsewhere answers 400 Invalid client_id', async () => {
    const { project, refreshToken } = await signedIn();
    assert.equal(await other.delete(project.id), true);
    const res = await refresh(app, project, refreshToken);
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Invalid client_id' }]);
  });
});
