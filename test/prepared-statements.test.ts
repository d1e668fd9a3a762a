// The hot paths' prepared queries (src/storage/prepared.ts) keep working when a table changes
// shape under them while the server runs, as when another instance runs a migration: on
// PostgreSQL they are named statements, which PostgreSQL refuses once their rows change shape
// ("cached plan must not change result type"); the query is then asked again unnamed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from './support/app.ts';
import { createProject, createUser, passwordTokens, refresh, sessionIdOf, type TestProject } from './support/flow.ts';

const PASSWORD = 'statements planned once';

describe('prepared queries across a change of their tables', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
    await createUser(app, 'planned@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('a session is still found, and its refresh token still rotates, after its table gains a column', async () => {
    const tokens = await passwordTokens(app, project, 'planned@example.com', PASSWORD);
    const sid = sessionIdOf(tokens.access_token);
    // Several times, so that every connection of the pool has the statement prepared.
    for (let i = 0; i < 12; i++) assert.equal((await app.services.sessions.find(sid))?.project_id, project.id);
    const first = await refresh(app, project, tokens.refresh_token);
    assert.equal(first.statusCode, 200);

    await sql`alter table sessions add column added_elsewhere text`.execute(app.services.database.db);

    for (let i = 0; i < 12; i++) assert.equal((await app.services.sessions.find(sid))?.project_id, project.id, `lookup ${i}`);
    const second = await refresh(app, project, first.json<{ refresh_token: string }>().refresh_token);
    assert.equal(second.statusCode, 200, second.body);
    const third = await refresh(app, project, second.json<{ refresh_token: string }>().refresh_token);
    assert.equal(third.statusCode, 200, third.body);
  });
});
