// Mail sends: limited per client address as well as per email (M3), and a send that failed for
// a mail outage neither counts against those limits nor holds the request past
// GATEHOUSE_SMTP_TIMEOUT_MS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, post, type TestProject } from './support/flow.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const TIMEOUT_MS = 300;

function requestLink(app: TestApp, project: TestProject, email: string, ip: string) {
  const { challenge } = pkcePair();
  return post(app, '/magic-link', { ...authParams(project.id, challenge), email }, { 'x-forwarded-for': ip });
}

describe('mail sends per client address', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_SMTP_URL: smtp.url } });
    project = await createProject(app);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('defaults to 10 per hour', () => {
    assert.equal(loadConfig({}).mailSendsPerIp, 10);
  });

  it('the 11th link from one address within an hour answers 429 Rate limited, whatever the emails; another address still sends', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await requestLink(app, project, `bomb${i}@example.com`, '198.51.100.50')).statusCode, 202);
    const limited = await requestLink(app, project, 'bomb-new@example.com', '198.51.100.50');
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    assert.equal(smtp.to('bomb-new@example.com').length, 0, 'no mail for the refused request');
    assert.equal((await requestLink(app, project, 'bomb-new@example.com', '198.51.100.51')).statusCode, 202);
  });

  it('a refusal by the address does not spend the email: its 3 links per hour are still there', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await requestLink(app, project, 'spared@example.com', '198.51.100.50')).statusCode, 429);
    for (let i = 0; i < 3; i++) assert.equal((await requestLink(app, project, 'spared@example.com', `198.51.100.${60 + i}`)).statusCode, 202);
  });

  it('the refusals of one address are recorded once for the window', async () => {
    const events = await app.services.audit.list({ projectId: project.id, type: 'rate_limit.refused', limit: 100 });
    assert.deepEqual(
      events.map((e) => [e.ip, e.detail?.limit]),
      [['198.51.100.50', 'mailSendsPerIp']],
    );
  });
});

describe('a mail server that accepts the connection and never greets', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_SMTP_TIMEOUT_MS: String(TIMEOUT_MS) } });
    project = await createProject(app);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('defaults to a 10 s bound', () => {
    assert.equal(loadConfig({}).smtpTimeoutMs, 10000);
  });

  it('each send answers 503 within the timeout, and failed sends count against neither the email nor the address', async () => {
    smtp.silent = true;
    // More failures than the email's 3 links per hour, all from one address.
    for (let i = 0; i < 4; i++) {
      const started = process.hrtime.bigint();
      const res = await requestLink(app, project, 'frozen@example.com', '192.0.2.40');
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      assert.deepEqual([res.statusCode, res.json()], [503, { error: 'Service unavailable' }]);
      assert.ok(ms < TIMEOUT_MS * 3, `answered after ${Math.round(ms)} ms`);
    }
    smtp.silent = false;
    const next = await requestLink(app, project, 'frozen@example.com', '192.0.2.40');
    assert.equal(next.statusCode, 202, next.body);
    assert.equal(smtp.to('frozen@example.com').length, 1);
  });
});
