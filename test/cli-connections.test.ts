// `gatehouse connection create|list|show|update|delete` and `project update --connection`
// (docs/federation.md), run in this process through runCli against a real oidc-provider upstream,
// and checked against an app on the same database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import { COMMANDS } from '../src/cli/run.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { createProject } from './support/flow.ts';
import { startUpstream, type Upstream } from './support/upstream.ts';

describe('gatehouse connection …', () => {
  const env = testEnv();
  let app: TestApp;
  let upstream: Upstream;
  before(async () => {
    app = await createTestApp({ env });
    upstream = await startUpstream({ redirectUris: [`${app.config.issuer}/connections/cli-up/callback`] });
    process.env.GATEHOUSE_TEST_UPSTREAM_SECRET = upstream.clientSecret;
  });
  after(async () => {
    delete process.env.GATEHOUSE_TEST_UPSTREAM_SECRET;
    await app.close();
    await upstream.close();
  });

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env });
    return { code, stdout, stderr };
  }

  it('each command names the admin API route it does the same as', () => {
    const routes = COMMANDS.filter((c) => c.name.startsWith('connection ')).flatMap((c) => c.routes ?? []);
    assert.deepEqual(routes.sort(), ['DELETE /admin/connections/:id', 'GET /admin/connections', 'GET /admin/connections/:id', 'PATCH /admin/connections/:id', 'POST /admin/connections']);
  });

  it('creates, lists, shows, updates, offers and deletes a connection; the secret is never printed', async () => {
    const created = await cli('connection', 'create', '--id', 'cli-up', '--name', 'CLI Upstream', '--issuer', upstream.issuer, '--client-id', upstream.clientId, '--client-secret-env', 'GATEHOUSE_TEST_UPSTREAM_SECRET');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /register this redirect URI at the provider: http:\/\/gatehouse\.test\/connections\/cli-up\/callback/);
    assert.ok(!created.stdout.includes(upstream.clientSecret));
    assert.equal((await app.services.connections.find('cli-up'))?.name, 'CLI Upstream');

    const refused = await cli('connection', 'create', '--id', 'cli-bad', '--name', 'Bad', '--issuer', 'http://example.com', '--client-id', 'x', '--client-secret-env', 'GATEHOUSE_TEST_UPSTREAM_SECRET');
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stderr, /issuer must be https/);

    const listed = await cli('connection', 'list', '--json');
    assert.deepEqual((JSON.parse(listed.stdout) as { connections: Array<{ id: string }> }).connections.map((c) => c.id), ['cli-up']);
    const shown = await cli('connection', 'show', 'cli-up');
    assert.match(shown.stdout, /client id: {5}gatehouse/);
    assert.ok(!shown.stdout.includes(upstream.clientSecret));

    const updated = await cli('connection', 'update', 'cli-up', '--name', 'Renamed');
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((await app.services.connections.find('cli-up'))?.name, 'Renamed');

    const project = await createProject(app);
    const unknown = await cli('project', 'update', project.id, '--connection', 'nope-nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown connections: nope-nope/);
    const offered = await cli('project', 'update', project.id, '--connection', 'cli-up');
    assert.equal(offered.code, 0, offered.stderr);
    assert.deepEqual((await app.services.projects.find(project.id))?.project.connections, ['cli-up']);

    const deleted = await cli('connection', 'delete', 'cli-up');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await app.services.connections.find('cli-up'), undefined);
    assert.deepEqual((await app.services.projects.find(project.id))?.project.connections, [], 'the project no longer offers it');
    const audit = await app.services.database.db.selectFrom('audit_events').select('type').where('type', 'like', 'connection.%').execute();
    assert.deepEqual(audit.map((e) => e.type).sort(), ['connection.created', 'connection.deleted', 'connection.updated']);
    assert.equal((await cli('connection', 'show', 'cli-up')).code, 1);
  });
});
