// H1, account pre-hijacking (spec/accounts.md, "Pre-hijacking"): whoever registered someone
// else's address keeps nothing once the owner of the mailbox proves it another way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, exchangeCode, passwordTokens, post, refresh, type TestProject, type Tokens } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

describe('account pre-hijacking: the first proof of the mailbox ends what the registrant had', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let closed: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url } });
    project = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  /** The attacker's registration of someone else's address, and the tokens it gets. */
  async function registerAs(email: string, password: string, remoteAddress: string): Promise<Tokens> {
    const { verifier, challenge } = pkcePair();
    const res = await app.server.inject({ method: 'POST', url: '/register', payload: { ...authParams(project.id, challenge), email, password }, remoteAddress });
    assert.equal(res.statusCode, 201, res.body);
    return exchangeCode(app, project, res.json<{ code: string }>().code, verifier);
  }

  /** The mailbox owner signs in by magic link: the answer of POST /magic-link/verify, and the verifier. */
  async function signInByMagicLink(email: string, target: TestProject = project) {
    const { verifier, challenge } = pkcePair();
    const sent = await post(app, '/magic-link', { ...authParams(target.id, challenge), email });
    assert.equal(sent.statusCode, 202, sent.body);
    const mails = smtp.to(email);
    const token = magicLinkToken(mails[mails.length - 1]!);
    return { response: await post(app, '/magic-link/verify', { token }), verifier };
  }

  function passwordLogin(email: string, password: string) {
    return post(app, '/login', { ...authParams(project.id, pkcePair().challenge), email, password });
  }

  it('an attacker registers victim@… and gets tokens; the victim signs in by magic link; the attacker keeps neither password nor session', async () => {
    const attackerPassword = 'the attacker chose this';
    const attacker = await registerAs('victim@example.com', attackerPassword, '10.9.0.1');
    assert.equal((await passwordLogin('victim@example.com', attackerPassword)).statusCode, 200, 'before: the password works');

    const { response, verifier } = await signInByMagicLink('victim@example.com');
    assert.equal(response.statusCode, 200, response.body);
    // the victim is signed in, to the same account
    const victim = await exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
    assert.equal((await refresh(app, project, victim.refresh_token)).statusCode, 200);

    const login = await passwordLogin('victim@example.com', attackerPassword);
    assert.equal(login.statusCode, 401);
    assert.deepEqual(login.json(), { error: 'Invalid credentials' });
    const attackerRefresh = await refresh(app, project, attacker.refresh_token);
    assert.equal(attackerRefresh.statusCode, 401);
    assert.deepEqual(attackerRefresh.json(), { error: 'Invalid refresh token' });

    const record = await app.services.users.findByEmail('victim@example.com');
    assert.equal(record?.user.email_verified, true);
    assert.equal(record?.user.has_password, false);
    const events = await app.services.audit.list({ type: 'account.unverified_credentials_cleared', subject: record?.user.id ?? '', limit: 10 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.project_id, project.id);
    assert.deepEqual(events[0]?.detail, { via: 'magic_link', password_removed: true });
  });

  it('the proof counts even where the sign-in is then refused (a closed project the account is not a member of)', async () => {
    const attacker = await registerAs('second-victim@example.com', 'another attacker password', '10.9.0.2');
    const { response } = await signInByMagicLink('second-victim@example.com', closed);
    assert.equal(response.statusCode, 403);
    assert.deepEqual(response.json(), { error: 'Not a member' });
    assert.equal((await passwordLogin('second-victim@example.com', 'another attacker password')).statusCode, 401);
    assert.equal((await refresh(app, project, attacker.refresh_token)).statusCode, 401);
  });

  it('an already verified account keeps its password and its sessions', async () => {
    const user = await app.services.users.create({ email: 'owner@example.com', password: 'the owner chose this', email_verified: true });
    await app.services.users.addMember(project.id, user.id);
    const earlier = await passwordTokens(app, project, 'owner@example.com', 'the owner chose this');
    const { response } = await signInByMagicLink('owner@example.com');
    assert.equal(response.statusCode, 200, response.body);
    assert.equal((await passwordLogin('owner@example.com', 'the owner chose this')).statusCode, 200);
    assert.equal((await refresh(app, project, earlier.refresh_token)).statusCode, 200);
    assert.equal((await app.services.audit.list({ type: 'account.unverified_credentials_cleared', subject: user.id, limit: 10 })).length, 0);
  });
});
