// A 503 never uses up a reset link: a POST /password-reset/verify that fails because the database
// cannot be used answers 503 and the same link works once the database is back. On SQLite the
// lock makes the take itself fail; on PostgreSQL the sessions table is locked, so the token is
// taken, the password set, and ending the sessions fails: the link is given back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { linkToken, waitForMail } from './support/account-mail.ts';
import { holdDatabaseDuringRequest } from './support/outage.ts';
import { authParams, createProject, createUser, exchangeCode, post, type TestProject } from './support/flow.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

describe('a reset link survives an outage of the database at POST /password-reset/verify', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_STORE_TIMEOUT_MS: '300' } });
    project = await createProject(app);
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  it('answers 503 Service unavailable, and the same link sets the password and signs in afterwards', async () => {
    await createUser(app, 'patient@example.com', 'the forgotten passphrase', project.id);
    await app.services.users.update((await app.services.users.findByEmail('patient@example.com'))!.user.id, { email_verified: true });
    const { verifier, challenge } = pkcePair();
    assert.equal((await post(app, '/password-reset', { ...authParams(project.id, challenge), email: 'patient@example.com' })).statusCode, 202);
    const token = linkToken(await waitForMail(smtp, 'patient@example.com', 1), '/password-reset/verify');

    const release = await holdDatabaseDuringRequest(app, 'sessions');
    let during;
    try {
      during = await post(app, '/password-reset/verify', { token, password: 'a new long passphrase' });
    } finally {
      await release();
    }
    assert.deepEqual([during.statusCode, during.json()], [503, { error: 'Service unavailable' }]);
    const look = await app.server.inject({ method: 'GET', url: `/password-reset/verify?token=${encodeURIComponent(token)}` });
    assert.deepEqual(look.json(), { valid: true }, 'the link is still there');
    const done = await post(app, '/password-reset/verify', { token, password: 'a new long passphrase' });
    assert.equal(done.statusCode, 200, done.body);
    await exchangeCode(app, project, done.json<{ code: string }>().code, verifier);
    assert.equal((await post(app, '/password-reset/verify', { token, password: 'a new long passphrase' })).statusCode, 400, 'used now: once');
  });
});
