// Several instances starting at the same moment on one empty PostgreSQL schema: the first start
// (schema, migrations, signing key, console project, configured admin) must happen once, not
// once per instance, and no instance may fail because another got there first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { buildApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { pkcePair, testEnv } from './support/app.ts';
import { testBackend } from './support/backend.ts';
import { authParams, bearer } from './support/flow.ts';

const skip =
  testBackend === 'postgres'
    ? false
    : 'instances share one database only on PostgreSQL: this runs in the Postgres+Redis pass (npm run test:postgres)';

const INSTANCES = 5;

describe('five instances starting together on one empty schema', { skip }, () => {
  const env = testEnv();
  const consoleCallback = `${env.GATEHOUSE_ISSUER}/console/callback`;
  let apps: App[] = [];
  let started: PromiseSettledResult<App>[] = [];

  function postJson(app: App, url: string, payload: Record<string, unknown>) {
    return app.server.inject({ method: 'POST', url, payload });
  }

  async function query(text: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: env.GATEHOUSE_DATABASE_URL });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }

  before(async () => {
    // Separate pools, as separate processes would have; the schema does not exist yet.
    started = await Promise.allSettled(Array.from({ length: INSTANCES }, () => buildApp({ config: loadConfig(env) })));
    apps = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  });

  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it('every instance starts', () => {
    const failures = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    assert.deepEqual(failures, []);
    assert.equal(apps.length, INSTANCES);
  });

  it('the migrations were applied once, in the schema of the connection string', async () => {
    const applied = await query('select name from kysely_migration');
    assert.deepEqual(
      applied.rows.map((r: { name: string }) => r.name),
      [...new Set(applied.rows.map((r: { name: string }) => r.name))],
    );
    const schema = new URL(env.GATEHOUSE_DATABASE_URL ?? '').searchParams.get('options')?.split('=')[1];
    const tables = await query(`select table_schema from information_schema.tables where table_name = 'signing_keys' and table_schema = '${schema}'`);
    assert.equal(tables.rowCount, 1);
  });

  it('they created one signing key of each algorithm and publish the same JWKS', async () => {
    const keys = await query('select kid, alg from signing_keys order by alg');
    assert.deepEqual(
      keys.rows.map((r: { alg: string }) => r.alg),
      ['ES256', 'RS256'],
    );
    const published = await Promise.all(apps.map((app) => app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })));
    for (const jwks of published) assert.deepEqual(jwks.json(), published[0]?.json());
    assert.deepEqual(published[0]?.json<{ keys: Array<{ alg: string }> }>().keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  });

  it('they created one console project and one admin, who signs in on one and is known to all', async () => {
    assert.equal((await query("select id from projects where id = 'console'")).rowCount, 1);
    assert.equal((await query('select id from users where is_admin = 1')).rowCount, 1);
    assert.equal((await query("select name from instance_secrets where name = 'pin_hmac_key'")).rowCount, 1);

    const [first, , , , last] = apps;
    assert.ok(first && last);
    const { verifier, challenge } = pkcePair();
    const login = await postJson(first, '/login', {
      ...authParams('console', challenge, { redirect_uri: consoleCallback }),
      email: env.GATEHOUSE_ADMIN_EMAIL,
      password: env.GATEHOUSE_ADMIN_PASSWORD,
    });
    assert.equal(login.statusCode, 200, login.body);
    const token = await postJson(last, '/token', {
      grant_type: 'authorization_code',
      client_id: 'console',
      code: login.json<{ code: string }>().code,
      code_verifier: verifier,
      redirect_uri: consoleCallback,
    });
    assert.equal(token.statusCode, 200, token.body);
    const listed = await apps[2]!.server.inject({
      method: 'GET',
      url: '/admin/projects',
      headers: bearer(token.json<{ access_token: string }>().access_token),
    });
    assert.equal(listed.statusCode, 200);
  });
});
