// The PIN behaviours whose correctness depends on the store: the 10-active limit under
// concurrent creation (PostgreSQL runs transactions in parallel, SQLite one at a time) and the
// failure budgets under parallel guessing (Redis answers the limiter over the network).
// Each run gets its own PostgreSQL database and its own addresses, so it shares nothing.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createTestApp, type TestApp } from './support/app.ts';
import { adminToken, createProject, exchangeCode, refresh, type TestProject } from './support/flow.ts';
import { createPin, createPinRequest, pinLogin, revokePin, type CreatedPin } from './pins-support.ts';

const POSTGRES_SERVER = 'postgres://postgres@127.0.0.1:5432';
const REDIS = 'redis://127.0.0.1:6379';

/** Runs one statement on the server's `test` database (to create and drop this run's own). */
async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${POSTGRES_SERVER}/test` });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function wrongPin(pin: string): string {
  return pin.replace(/^./, (d) => String((Number(d) + 1) % 10));
}

describe('PINs on PostgreSQL + Redis', () => {
  const database = `pins_test_${randomBytes(6).toString('hex')}`;
  /** a /24 of the shared address space (100.64.0.0/10) of this run's own, so Redis keys are not shared */
  const net = `100.${64 + randomInt(64)}.${randomInt(256)}`;
  let host = 0;
  const nextIp = () => `${net}.${++host}`;
  let app: TestApp;
  let token: string;

  before(async () => {
    await onServer(`create database ${database}`);
    app = await createTestApp({
      env: {
        GATEHOUSE_DATABASE_URL: `${POSTGRES_SERVER}/${database}`,
        GATEHOUSE_REDIS_URL: REDIS,
        GATEHOUSE_TRUST_PROXY: 'true',
        GATEHOUSE_PIN_FAILURES_PER_DAY: '3',
      },
    });
    assert.equal(app.services.database.kind, 'postgres');
    token = await adminToken(app);
  });

  after(async () => {
    await app?.close();
    await onServer(`drop database if exists ${database} with (force)`);
  });

  it('the limit of 10 active PINs holds when 15 creations race', async () => {
    const project = await createProject(app);
    const results = await Promise.all(Array.from({ length: 15 }, () => createPinRequest(app, token, project.id)));
    assert.equal(results.filter((r) => r.statusCode === 201).length, 10);
    for (const r of results.filter((r) => r.statusCode !== 201)) assert.deepEqual(r.json(), { error: 'Max active PINs reached' });
    assert.equal(await app.services.pins.activePinCount(project.id), 10);
  });

  it('login, token, revocation and refresh behave as on SQLite', async () => {
    const project: TestProject = await createProject(app);
    const pin: CreatedPin = await createPin(app, token, project.id, 'Kiosk');
    const row = await app.services.database.db.selectFrom('pins').selectAll().where('id', '=', pin.id).executeTakeFirstOrThrow();
    for (const value of Object.values(row)) assert.notEqual(String(value), pin.pin);
    const { response, verifier } = await pinLogin(app, project.id, pin.pin, nextIp());
    assert.equal(response.statusCode, 200, response.body);
    const tokens = await exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { sub: string; amr: string[] };
    assert.equal(claims.sub, `pin:${pin.id}`);
    assert.deepEqual(claims.amr, ['pin']);
    assert.equal((await app.services.sessions.listActive(project.id)).length, 1);
    assert.equal((await revokePin(app, token, project.id, pin.id)).statusCode, 204);
    const res = await refresh(app, project, tokens.refresh_token);
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'PIN revoked' }]);
    assert.deepEqual(await app.services.sessions.listActive(project.id), []);
  });

  it('a burst of 20 parallel wrong PINs from one address gets at most 5 tries', async () => {
    // two guesses per project, so that the per-project budget of 3 is not what stops the burst
    const projects = await Promise.all(Array.from({ length: 10 }, () => createProject(app)));
    const from = nextIp();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pinLogin(app, projects[i % 10]!.id, '00000000', from)));
    assert.equal(results.filter((r) => r.response.statusCode === 401).length, 5);
    assert.equal(results.filter((r) => r.response.statusCode === 429).length, 15);
  });

  it('a burst of 30 parallel wrong PINs from 30 addresses gets no more tries than the project budget of 3', async () => {
    const project = await createProject(app);
    const pin = await createPin(app, token, project.id);
    const results = await Promise.all(Array.from({ length: 30 }, () => pinLogin(app, project.id, wrongPin(pin.pin), nextIp())));
    assert.equal(results.filter((r) => r.response.statusCode === 401).length, 3);
    assert.equal(results.filter((r) => r.response.statusCode === 429).length, 27);
    const rightPin = await pinLogin(app, project.id, pin.pin, nextIp());
    assert.deepEqual([rightPin.response.statusCode, rightPin.response.json()], [429, { error: 'Rate limited' }]);
  });
});
