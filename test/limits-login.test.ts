// The per-account password budget (M8) and the bounded queue of password hashes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, bearer, createProject, createUser, post, type TestProject } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const PASSWORD = 'ada lovelace engine notes';
const METRICS_TOKEN = 'metrics-scraper-token-0123456789';

let addressCounter = 0;
/** A fresh client address per call (GATEHOUSE_TRUST_PROXY=true), so the per-address limit never decides. */
const nextIp = () => `10.20.${Math.floor(++addressCounter / 250)}.${addressCounter % 250}`;

function login(app: TestApp, project: TestProject, email: string, password: string, ip = nextIp()) {
  const { challenge } = pkcePair();
  return post(app, '/login', { ...authParams(project.id, challenge), email, password }, { 'x-forwarded-for': ip });
}

describe('the per-account limit of failed passwords', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let kateId: string;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_SMTP_URL: smtp.url } });
    project = await createProject(app);
    kateId = await createUser(app, 'kate@example.com', PASSWORD, project.id);
    await createUser(app, 'lena@example.com', PASSWORD, project.id);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('defaults to 20 failures per account per hour', () => {
    assert.equal(loadConfig({}).loginFailuresPerAccount, 20);
  });

  it('after 20 wrong passwords from 20 addresses, the right password from a 21st answers 429, whatever the spelling of the email', async () => {
    const spellings = ['kate@example.com', 'KATE@example.com', ' Kate@Example.com '];
    for (let i = 0; i < 20; i++) {
      const res = await login(app, project, spellings[i % spellings.length] ?? '', 'wrong password');
      assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Invalid credentials' }], `attempt ${i + 1}`);
    }
    for (const email of spellings) {
      const res = await login(app, project, email, PASSWORD);
      assert.deepEqual([res.statusCode, res.json()], [429, { error: 'Rate limited' }], email);
    }
    // Another account, and an unknown email, are not affected.
    assert.equal((await login(app, project, 'lena@example.com', PASSWORD)).statusCode, 200);
    assert.equal((await login(app, project, 'nobody@example.com', PASSWORD)).statusCode, 401);
  });

  it('a refusal for the account does not spend the address: the same address signs in to another account', async () => {
    const ip = nextIp();
    for (let i = 0; i < 6; i++) assert.equal((await login(app, project, 'kate@example.com', PASSWORD, ip)).statusCode, 429);
    assert.equal((await login(app, project, 'lena@example.com', PASSWORD, ip)).statusCode, 200);
  });

  it('each address refused for the account is recorded once, with the account as subject', async () => {
    const events = await app.services.audit.list({ subject: kateId, type: 'rate_limit.refused', limit: 100 });
    assert.ok(events.length >= 4, `one per refused address, got ${events.length}`);
    assert.equal(new Set(events.map((e) => e.ip)).size, events.length);
    assert.ok(events.every((e) => e.detail?.limit === 'passwordFailuresPerAccount'));
  });

  it('a magic link still signs the locked account in', async () => {
    const { challenge } = pkcePair();
    const sent = await post(app, '/magic-link', { ...authParams(project.id, challenge), email: 'kate@example.com' }, { 'x-forwarded-for': nextIp() });
    assert.equal(sent.statusCode, 202, sent.body);
    const mail = smtp.to('kate@example.com').at(-1);
    assert.ok(mail);
    const used = await post(app, '/magic-link/verify', { token: magicLinkToken(mail) });
    assert.equal(used.statusCode, 200, used.body);
  });
});

describe('the bounded queue of password hashes', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({
      env: {
        GATEHOUSE_TRUST_PROXY: 'true',
        GATEHOUSE_HASH_QUEUE: '1',
        GATEHOUSE_HASH_CONCURRENCY: '1',
        GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT: '12',
        GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN,
        // Hashes slow enough (production parameters) that a burst is still waiting when the next arrives.
        GATEHOUSE_ARGON2_MEMORY_KIB: '19456',
        GATEHOUSE_ARGON2_TIME_COST: '2',
      },
    });
    project = await createProject(app);
    await createUser(app, 'mira@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  it('defaults to 64 waiting hashes', () => {
    assert.equal(loadConfig({}).hashQueue, 64);
  });

  it('past the queue a login answers 503 Service unavailable at once, is counted in the metrics, and is not a failure of the account', async () => {
    const burst = await Promise.all(Array.from({ length: 10 }, () => login(app, project, 'mira@example.com', 'wrong password')));
    const refused = burst.filter((res) => res.statusCode === 503);
    const failed = burst.filter((res) => res.statusCode === 401);
    assert.equal(refused.length + failed.length, 10, burst.map((r) => r.statusCode).join(' '));
    assert.ok(refused.length >= 1 && failed.length >= 1, burst.map((r) => r.statusCode).join(' '));
    for (const res of refused) assert.deepEqual(res.json(), { error: 'Service unavailable' });

    const metrics = await app.server.inject({ method: 'GET', url: '/metrics', headers: bearer(METRICS_TOKEN) });
    const sample = /^gatehouse_password_hash_queue_full_total (\d+)$/m.exec(metrics.body);
    assert.equal(Number(sample?.[1]), refused.length);

    // Only the checked passwords count towards the account's 12: the rest of them still answer 401.
    for (let i = failed.length; i < 12; i++) assert.equal((await login(app, project, 'mira@example.com', 'wrong password')).statusCode, 401, `failure ${i + 1}`);
    assert.equal((await login(app, project, 'mira@example.com', PASSWORD)).statusCode, 429);
  });
});

describe('the 429s of the other login endpoints are recorded once per limit, address and window', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
  });
  after(() => app.close());

  it('PIN login and registration', async () => {
    const { challenge } = pkcePair();
    const ip = nextIp();
    for (let i = 0; i < 8; i++) await post(app, '/login/pin', { ...authParams(project.id, challenge), pin: '00000000' }, { 'x-forwarded-for': ip });
    for (let i = 0; i < 6; i++) {
      await post(app, '/register', { ...authParams(project.id, challenge), email: `new${i}@example.com`, password: PASSWORD }, { 'x-forwarded-for': ip });
    }
    const events = await app.services.audit.list({ projectId: project.id, type: 'rate_limit.refused', limit: 100 });
    assert.deepEqual(events.map((e) => [e.ip, e.detail?.limit]).sort(), [
      [ip, 'pinFailuresPerIp'],
      [ip, 'signupsPerIp'],
    ]);
  });
});
