import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { sha256 } from '../src/crypto/tokens.ts';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { authParams, assertAuthorizationResponse, createProject, createUser, exchangeCode, post, postForm, REDIRECT_URI, type AuthParams, type TestProject } from './support/flow.ts';
import { magicLinkToken, startSmtpServer, type ReceivedMail, type TestSmtpServer } from './support/smtp.ts';

function formFields(fields: object): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

describe('magic links, mailed through a real SMTP server', () => {
  let smtp: TestSmtpServer;
  let app: TestApp;
  let project: TestProject;
  let closed: TestProject;
  before(async () => {
    smtp = await startSmtpServer();
    // Every request here comes from the one test address; the per-address limit of mail sends
    // (GATEHOUSE_MAIL_SENDS_PER_IP) has its own tests in test/limits-mail.test.ts.
    app = await createTestApp({
      env: { GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_MAIL_FROM: 'Gatehouse <login@gatehouse.test>', GATEHOUSE_MAIL_SENDS_PER_IP: '1000' },
    });
    project = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
    await app.services.projects.update(project.id, { name: 'Orchard Notes' });
  });
  after(async () => {
    await app.close();
    await smtp.close();
  });

  async function requestLink(email: string, options: { projectId?: string; extra?: Partial<AuthParams> } = {}) {
    const { verifier, challenge } = pkcePair();
    const response = await post(app, '/magic-link', { ...authParams(options.projectId ?? project.id, challenge, options.extra), email });
    return { response, verifier };
  }

  /** Requests a link and answers the token from the mail the SMTP server received. */
  async function mailedToken(email: string, options: { projectId?: string; extra?: Partial<AuthParams> } = {}) {
    const before = smtp.to(email.trim()).length;
    const { response, verifier } = await requestLink(email, options);
    assert.equal(response.statusCode, 202, response.body);
    const mails = smtp.to(email.trim());
    assert.equal(mails.length, before + 1, 'one message received');
    const mail = mails[mails.length - 1] as ReceivedMail;
    return { token: magicLinkToken(mail), verifier, mail };
  }

  const getVerify = (token: string, accept = 'application/json') =>
    app.server.inject({ method: 'GET', url: `/magic-link/verify?token=${encodeURIComponent(token)}`, headers: { accept } });
  const postVerify = (token: string) => post(app, '/magic-link/verify', { token });

  it('answers 202 {"sent": true} and mails a link to <issuer>/magic-link/verify naming the project', async () => {
    const { token, mail } = await mailedToken('rosa@example.com');
    assert.equal(mail.from, 'login@gatehouse.test');
    assert.deepEqual(mail.to, ['rosa@example.com']);
    assert.equal(mail.subject, 'Sign in to Orchard Notes');
    assert.ok(mail.text.includes(`${ISSUER}/magic-link/verify?token=${token}`), mail.text);
    assert.match(mail.text, /Orchard Notes/);
    assert.match(mail.text, /expires in 15 minutes/);
    assert.match(mail.html, /<strong>Orchard Notes<\/strong>/);
    assert.ok(mail.html.includes(`href="${ISSUER}/magic-link/verify?token=${token}"`), mail.html);
    assert.equal(Buffer.from(token, 'base64url').length, 32, 'a 256-bit token');
  });

  it('mails in the language of ui_locales, else of Accept-Language, else English (accounts.md "Languages")', async () => {
    const german = await app.server.inject({
      method: 'POST',
      url: '/magic-link',
      headers: { 'content-type': 'application/json', 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' },
      payload: { ...authParams(project.id, pkcePair().challenge), email: 'greta@example.com' },
    });
    assert.equal(german.statusCode, 202, german.body);
    const [de] = smtp.to('greta@example.com').slice(-1);
    assert.equal(de?.subject, 'Bei Orchard Notes anmelden');
    assert.match(de?.text ?? '', /läuft in 15 Minuten ab/);
    assert.match(de?.html ?? '', /<html lang="de">/);
    assert.match(de?.html ?? '', /<strong>Orchard Notes<\/strong>/);
    const french = await mailedToken('france@example.com', { extra: { ui_locales: 'fr-CA es' } });
    assert.equal(french.mail.subject, 'Se connecter à Orchard Notes');
    const page = await app.server.inject({
      method: 'POST',
      url: '/magic-link',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'accept-language': 'es' },
      payload: new URLSearchParams({ ...formFields(authParams(project.id, pkcePair().challenge)), email: 'sol@example.com' }).toString(),
    });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /<html lang="es">/);
    assert.match(page.body, /Revise su correo/);
  });

  it('stores the token only as its SHA-256 digest', async () => {
    const { token } = await mailedToken('digest@example.com');
    assert.equal(await app.services.kv.get(`magic:${token}`), null);
    const stored = await app.services.kv.get(`magic:${sha256(token)}`);
    assert.ok(stored);
    assert.ok(!stored.includes(token));
    assert.equal(JSON.parse(stored).email, 'digest@example.com');
  });

  it('the same 202 for an address with an account and one without, and both get the same mail', async () => {
    await createUser(app, 'known@example.com', 'some long passphrase', project.id);
    const known = await mailedToken('known@example.com');
    const unknown = await mailedToken('unknown@example.com');
    const first = await requestLink('known2@example.com');
    await createUser(app, 'known3@example.com', 'some long passphrase', project.id);
    const second = await requestLink('known3@example.com');
    assert.equal(first.response.statusCode, second.response.statusCode);
    assert.equal(first.response.body, second.response.body);
    assert.deepEqual(first.response.json(), { sent: true });
    assert.equal(first.response.headers['content-type'], second.response.headers['content-type']);
    assert.equal(known.mail.subject, unknown.mail.subject);
    assert.equal(known.mail.text.replace(known.token, 'TOKEN'), unknown.mail.text.replace(unknown.token, 'TOKEN'));
    assert.equal(known.mail.html.replace(known.token, 'TOKEN'), unknown.mail.html.replace(unknown.token, 'TOKEN'));
  });

  it('GET never consumes the token: GET twice answers {"valid": true}, then POST signs in', async () => {
    const { token, verifier } = await mailedToken('grace@example.com');
    for (let i = 0; i < 2; i++) {
      const res = await getVerify(token);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { valid: true });
    }
    const used = await postVerify(token);
    assert.equal(used.statusCode, 200);
    const body = assertAuthorizationResponse(used, ISSUER);

    // a new address gets a verified account and membership of the open project
    const record = await app.services.users.findByEmail('grace@example.com');
    assert.ok(record);
    assert.equal(record.user.email_verified, true);
    assert.equal(record.user.has_password, false);
    assert.deepEqual(await app.services.users.membership(project.id, record.user.id), { blocked: false });

    // the code exchanges at /token; the tokens say how the person signed in
    const tokens = await exchangeCode(app, project, body.code, verifier);
    const jwks = createLocalJWKSet((await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());
    const access = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.deepEqual(access.payload.amr, ['magic_link']);
    assert.equal(access.payload.sub, record.user.id);
    assert.ok(tokens.id_token);
    const id = await jwtVerify(tokens.id_token, jwks, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.equal(id.payload.email, 'grace@example.com');
  });

  it('POST consumes the token once: a second POST, and a GET afterwards, answer 400 Invalid or expired token', async () => {
    const { token } = await mailedToken('once@example.com');
    assert.equal((await postVerify(token)).statusCode, 200);
    const again = await postVerify(token);
    assert.equal(again.statusCode, 400);
    assert.deepEqual(again.json(), { error: 'Invalid or expired token' });
    const look = await getVerify(token);
    assert.equal(look.statusCode, 400);
    assert.deepEqual(look.json(), { error: 'Invalid or expired token' });
  });

  it('10 concurrent POSTs of one token: exactly one signs in', async () => {
    const { token } = await mailedToken('race@example.com');
    const results = await Promise.all(Array.from({ length: 10 }, () => postVerify(token)));
    assert.equal(results.filter((r) => r.statusCode === 200).length, 1);
    for (const r of results.filter((r) => r.statusCode !== 200)) {
      assert.equal(r.statusCode, 400);
      assert.deepEqual(r.json(), { error: 'Invalid or expired token' });
    }
  });

  it('an unknown, missing or malformed token answers 400 Invalid or expired token', async () => {
    for (const res of [
      await postVerify('not-a-real-token'),
      await post(app, '/magic-link/verify', {}),
      await post(app, '/magic-link/verify', { token: 'x'.repeat(5000) }),
      await getVerify('not-a-real-token'),
      await app.server.inject({ method: 'GET', url: '/magic-link/verify' }),
    ]) {
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { error: 'Invalid or expired token' });
    }
  });

  it('a link expires after GATEHOUSE_MAGIC_LINK_TTL_SECONDS (15 minutes by default)', async () => {
    const early = await mailedToken('early@example.com');
    const late = await mailedToken('late@example.com');
    app.clock.advance(15 * 60 * 1000 - 1000);
    assert.equal((await getVerify(early.token)).statusCode, 200);
    assert.equal((await postVerify(early.token)).statusCode, 200);
    app.clock.advance(2000);
    const look = await getVerify(late.token);
    assert.equal(look.statusCode, 400);
    assert.deepEqual(look.json(), { error: 'Invalid or expired token' });
    const use = await postVerify(late.token);
    assert.equal(use.statusCode, 400);
    assert.deepEqual(use.json(), { error: 'Invalid or expired token' });
  });

  it('the 4th link for one email within an hour answers 429 Rate limited, and no mail is sent for it', async () => {
    // the limit counts the normalised address
    for (const email of ['limit@example.com', ' Limit@Example.com ', 'LIMIT@example.com']) {
      assert.equal((await requestLink(email)).response.statusCode, 202);
    }
    const sent = smtp.to('limit@example.com').length;
    const fourth = await requestLink('limit@example.com', { projectId: closed.id });
    assert.equal(fourth.response.statusCode, 429);
    assert.deepEqual(fourth.response.json(), { error: 'Rate limited' });
    assert.equal(fourth.response.headers['retry-after'], undefined);
    assert.equal(smtp.to('limit@example.com').length, sent);
    // another address is not affected
    assert.equal((await requestLink('not-limited@example.com')).response.statusCode, 202);
  });

  it('the limit is the same for an address with an account', async () => {
    await createUser(app, 'limited-known@example.com', 'some long passphrase', project.id);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await requestLink('limited-known@example.com')).response.statusCode);
    assert.deepEqual(statuses, [202, 202, 202, 429]);
  });

  it('authorization parameters are checked first; an invalid email answers 400 Invalid request', async () => {
    const badClient = await requestLink('params@example.com', { projectId: 'no-such-project' });
    assert.equal(badClient.response.statusCode, 400);
    assert.deepEqual(badClient.response.json(), { error: 'Invalid client_id' });
    const badRedirect = await requestLink('params@example.com', { extra: { redirect_uri: 'https://evil.example/cb' } });
    assert.deepEqual(badRedirect.response.json(), { error: 'Invalid redirect_uri' });
    for (const email of ['', 'nobody', 'a@b']) {
      const res = await requestLink(email);
      assert.equal(res.response.statusCode, 400, email);
      assert.equal(res.response.json().error, 'Invalid request', email);
    }
  });

  it('a new address on a closed project: the link is sent, and using it answers 403 Registration closed', async () => {
    const { token } = await mailedToken('newcomer@example.com', { projectId: closed.id });
    const res = await postVerify(token);
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Registration closed' });
    assert.equal(await app.services.users.findByEmail('newcomer@example.com'), undefined);
  });

  it('an account that is not a member of a closed project answers 403 Not a member', async () => {
    const userId = await createUser(app, 'outsider@example.com', 'some long passphrase');
    const { token } = await mailedToken('outsider@example.com', { projectId: closed.id });
    const res = await postVerify(token);
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Not a member' });
    assert.equal(await app.services.users.membership(closed.id, userId), undefined);
  });

  it('a blocked member answers 403 Account blocked', async () => {
    const userId = await createUser(app, 'blocked@example.com', 'some long passphrase', project.id);
    await app.services.users.setBlocked(project.id, userId, true);
    const { token } = await mailedToken('blocked@example.com');
    const res = await postVerify(token);
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Account blocked' });
  });

  it('a member of a closed project signs in', async () => {
    await createUser(app, 'insider@example.com', 'some long passphrase', closed.id);
    const { token } = await mailedToken('insider@example.com', { projectId: closed.id });
    assert.equal((await postVerify(token)).statusCode, 200);
  });

  it('an existing account becomes a member of an open project and its email is marked verified', async () => {
    const userId = await createUser(app, 'Joiner@Example.com', 'some long passphrase');
    assert.equal((await app.services.users.find(userId))?.user.email_verified, false);
    const { token } = await mailedToken(' JOINER@example.com ');
    assert.equal((await postVerify(token)).statusCode, 200);
    assert.deepEqual(await app.services.users.membership(project.id, userId), { blocked: false });
    assert.equal((await app.services.users.find(userId))?.user.email_verified, true);
    assert.equal((await app.services.users.list('joiner@example.com')).length, 1, 'no second account');
  });

  it('rules apply when the link is used: a project closed after sending refuses a new address', async () => {
    const late = await createProject(app);
    const { token } = await mailedToken('late-closed@example.com', { projectId: late.id });
    await app.services.projects.update(late.id, { registration_open: false });
    const res = await postVerify(token);
    assert.deepEqual(res.json(), { error: 'Registration closed' });
  });

  it('a redirect URI removed since the link was sent makes the link invalid', async () => {
    const moving = await createProject(app);
    const { token } = await mailedToken('moved@example.com', { projectId: moving.id });
    await app.services.projects.update(moving.id, { redirect_uris: ['https://app.example.com/other'] });
    const res = await postVerify(token);
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid or expired token' });
  });

  it('a project deleted since the link was sent makes the link invalid', async () => {
    const doomed = await createProject(app);
    const { token } = await mailedToken('orphan@example.com', { projectId: doomed.id });
    assert.ok(await app.services.projects.delete(doomed.id));
    const res = await postVerify(token);
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid or expired token' });
    assert.equal(await app.services.users.findByEmail('orphan@example.com'), undefined);
  });

  it('GET with Accept text/html shows a page whose button POSTs the token; a bad token shows the error page', async () => {
    const { token } = await mailedToken('page@example.com');
    const page = await getVerify(token, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(page.body, /<form method="post" action="\/magic-link\/verify">/);
    assert.ok(page.body.includes(`name="token" value="${token}"`));
    // the button's post ends in a redirect to the app, so the page's form-action allows the app's origin
    assert.match(page.headers['content-security-policy'] as string, /form-action 'self' https:\/\/app\.example\.com(;|$)/);
    const bad = await getVerify('nope', 'text/html');
    assert.equal(bad.statusCode, 400);
    assert.match(bad.headers['content-type'] as string, /^text\/html/);
    assert.match(bad.body, /Invalid or expired token/);
    // the page did not use the token up
    assert.equal((await getVerify(token)).statusCode, 200);
  });

  it('the hosted page: the form post gets a "check your mail" page, the confirm button a 303 to the app', async () => {
    const { verifier, challenge } = pkcePair();
    const sent = await postForm(app, '/magic-link', formFields({ ...authParams(project.id, challenge), email: 'browser@example.com' }), {
      accept: 'text/html',
    });
    assert.equal(sent.statusCode, 200);
    assert.match(sent.headers['content-type'] as string, /^text\/html/);
    assert.match(sent.body, /Check your mail/);
    assert.match(sent.body, /within 15 minutes/);
    const mail = smtp.to('browser@example.com')[0];
    assert.ok(mail);
    const token = magicLinkToken(mail);

    const used = await postForm(app, '/magic-link/verify', { token }, { accept: 'text/html', origin: 'http://gatehouse.test', host: 'gatehouse.test' });
    assert.equal(used.statusCode, 303);
    const location = new URL(used.headers.location as string);
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
    assert.equal(location.searchParams.get('state'), 'xyz');
    const code = location.searchParams.get('code');
    assert.ok(code);
    await exchangeCode(app, project, code, verifier);
  });

  it('a failed form post of the confirm button shows the error page with its status', async () => {
    const res = await postForm(app, '/magic-link/verify', { token: 'nope' }, { accept: 'text/html' });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body, /Invalid or expired token/);
  });

  it('a cross-site form post of the token is refused with 403 and leaves the token usable', async () => {
    const { token } = await mailedToken('csrf@example.com');
    const forged = await postForm(app, '/magic-link/verify', { token }, { accept: 'text/html', 'sec-fetch-site': 'cross-site' });
    assert.equal(forged.statusCode, 403);
    const otherOrigin = await postForm(app, '/magic-link/verify', { token }, { accept: 'text/html', origin: 'https://evil.example' });
    assert.equal(otherOrigin.statusCode, 403);
    assert.equal((await postVerify(token)).statusCode, 200);
  });

  it('a newer link for the same address and project ends the older unused ones; other projects and addresses keep theirs', async () => {
    const first = await mailedToken('twice@example.com');
    const elsewhere = await mailedToken('twice@example.com', { projectId: closed.id });
    const other = await mailedToken('bystander@example.com');
    const second = await mailedToken(' TWICE@example.com ');
    for (const res of [await getVerify(first.token), await postVerify(first.token)]) {
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { error: 'Invalid or expired token' });
    }
    assert.equal((await getVerify(elsewhere.token)).statusCode, 200);
    assert.equal((await getVerify(other.token)).statusCode, 200);
    assert.equal((await postVerify(second.token)).statusCode, 200);
    assert.equal((await postVerify(other.token)).statusCode, 200);
  });

  it('a refused use (403) uses the link up, as before', async () => {
    const { token } = await mailedToken('refused@example.com', { projectId: closed.id });
    assert.equal((await postVerify(token)).statusCode, 403);
    const again = await postVerify(token);
    assert.equal(again.statusCode, 400);
    assert.deepEqual(again.json(), { error: 'Invalid or expired token' });
  });

  it('records magic_link.sent and magic_link.used in the audit log', async () => {
    const { token } = await mailedToken('audited@example.com');
    await postVerify(token);
    const userId = (await app.services.users.findByEmail('audited@example.com'))?.user.id;
    const sent = await app.services.audit.list({ type: 'magic_link.sent', projectId: project.id, limit: 100 });
    assert.ok(sent.some((e) => e.detail?.email === 'audited@example.com'));
    const used = await app.services.audit.list({ type: 'magic_link.used', subject: userId, limit: 5 });
    assert.equal(used.length, 1);
    assert.equal(used[0]?.outcome, 'success');
    for (const entry of [...sent, ...used]) assert.ok(!JSON.stringify(entry).includes(token), 'no token in the audit log');
  });
});

describe('magic links when the SMTP server cannot be reached', () => {
  it('answers 503 Service unavailable and keeps no usable link', async () => {
    // a port that just had an SMTP server on it and now refuses connections
    const gone = await startSmtpServer();
    await gone.close();
    const app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: gone.url } });
    try {
      const project = await createProject(app);
      const res: LightMyRequestResponse = await post(app, '/magic-link', { ...authParams(project.id, pkcePair().challenge), email: 'down@example.com' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { error: 'Service unavailable' });
      // With SQL as the key-value store the table can be inspected (no token is known to look up).
      if (!app.config.redisUrl) {
        const rows = await app.services.database.db.selectFrom('kv').select('key').where('key', 'like', 'magic:%').execute();
        assert.equal(rows.length, 0);
      }
    } finally {
      await app.close();
    }
  });
  it('a link whose mail could not be sent ends no older link', async () => {
    const smtp = await startSmtpServer();
    const app = await createTestApp({ env: { GATEHOUSE_SMTP_URL: smtp.url } });
    try {
      const project = await createProject(app);
      const request = () => post(app, '/magic-link', { ...authParams(project.id, pkcePair().challenge), email: 'patient@example.com' });
      assert.equal((await request()).statusCode, 202);
      const token = magicLinkToken(smtp.to('patient@example.com')[0]!);
      // The pooled connection goes first, or the server waits for it to end on its own.
      app.services.mailer.close();
      await smtp.close();
      assert.equal((await request()).statusCode, 503);
      const used = await post(app, '/magic-link/verify', { token });
      assert.equal(used.statusCode, 200, used.body);
    } finally {
      await app.close();
    }
  });
});
