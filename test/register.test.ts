import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { authParams, assertAuthorizationResponse, createProject, createUser, exchangeCode, post, postForm, REDIRECT_URI, type TestProject } from './support/flow.ts';

// Each test signs up from addresses of its own (X-Forwarded-For, trusted in this app), so the
// 3-per-hour signup limit of one test does not reach the others.
let nextAddress = 1;
function formFields(fields: object): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
function freshIp(): string {
  nextAddress += 1;
  return `198.51.100.${nextAddress}`;
}

describe('POST /register', () => {
  let app: TestApp;
  let project: TestProject;
  let closed: TestProject;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    project = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
  });
  after(() => app.close());

  function register(body: Record<string, string>, ip = freshIp(), clientId = project.id, challenge = pkcePair().challenge) {
    return post(app, '/register', { ...authParams(clientId, challenge), ...body }, { 'x-forwarded-for': ip });
  }

  it('creates an unverified account that is a member, and answers 201 with redirect_to, code and state', async () => {
    const { verifier, challenge } = pkcePair();
    const res = await register({ email: 'lin@example.com', password: 'violet kettle drum' }, freshIp(), project.id, challenge);
    assert.equal(res.statusCode, 201);
    const body = assertAuthorizationResponse(res, ISSUER);

    const record = await app.services.users.findByEmail('lin@example.com');
    assert.ok(record);
    assert.equal(record.user.email_verified, false);
    assert.deepEqual(await app.services.users.membership(project.id, record.user.id), { blocked: false });

    const tokens = await exchangeCode(app, project, body.code, verifier);
    const jwks = createLocalJWKSet((await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.equal(payload.sub, record.user.id);
    assert.deepEqual(payload.amr, ['pwd']);

    const events = await app.services.audit.list({ type: 'register', subject: record.user.id, limit: 5 });
    assert.equal(events.length, 1);
    assert.equal(events[0]?.outcome, 'success');
    assert.equal(events[0]?.project_id, project.id);
  });

  it('the registered password signs in through POST /login', async () => {
    await register({ email: 'mei@example.com', password: 'violet kettle drum' });
    const login = await post(app, '/login', { ...authParams(project.id, pkcePair().challenge), email: 'mei@example.com', password: 'violet kettle drum' });
    assert.equal(login.statusCode, 200);
  });

  it('an email already registered answers 409 Email already registered', async () => {
    await createUser(app, 'taken@example.com', 'some long passphrase');
    const res = await register({ email: 'taken@example.com', password: 'violet kettle drum' });
    assert.equal(res.statusCode, 409);
    assert.deepEqual(res.json(), { error: 'Email already registered' });
    const events = await app.services.audit.list({ type: 'register', projectId: project.id, limit: 50 });
    assert.ok(events.some((e) => e.outcome === 'failure' && e.detail?.reason === 'Email already registered'));
  });

  it('emails are trimmed and compared case-insensitively', async () => {
    const first = await register({ email: ' Ada@Example.COM ', password: 'analytical engine 1843' });
    assert.equal(first.statusCode, 201);
    const stored = await app.services.users.findByEmail('ada@example.com');
    assert.equal(stored?.user.email, 'Ada@Example.COM');

    const again = await register({ email: 'ada@example.com', password: 'analytical engine 1843' });
    assert.equal(again.statusCode, 409);
    assert.deepEqual(again.json(), { error: 'Email already registered' });

    const login = await post(app, '/login', { ...authParams(project.id, pkcePair().challenge), email: 'ada@example.com', password: 'analytical engine 1843' });
    assert.equal(login.statusCode, 200);
  });

  it('a password shorter than 8 characters answers 400 Invalid password with reason too_short', async () => {
    const res = await register({ email: 'short@example.com', password: 'kq7#vR2' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid password', reason: 'too_short' });
    assert.equal(await app.services.users.findByEmail('short@example.com'), undefined);
  });

  it('a missing password answers 400 Invalid password', async () => {
    const res = await register({ email: 'nopassword@example.com' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'Invalid password');
  });

  it('exactly 8 characters are accepted', async () => {
    const res = await register({ email: 'eight@example.com', password: 'kq7#vR2m' });
    assert.equal(res.statusCode, 201);
  });

  it('exactly 256 characters are accepted and 257 answer 400 Invalid password with reason too_long', async () => {
    const ip = freshIp();
    const ok = await register({ email: 'long256@example.com', password: 'x7'.repeat(128) }, ip);
    assert.equal(ok.statusCode, 201);
    const tooLong = await register({ email: 'long257@example.com', password: `${'x7'.repeat(128)}y` }, ip);
    assert.equal(tooLong.statusCode, 400);
    assert.deepEqual(tooLong.json(), { error: 'Invalid password', reason: 'too_long' });
  });

  it('length counts Unicode code points, not UTF-16 units', async () => {
    // four emoji are eight UTF-16 units but four characters
    const short = await register({ email: 'emoji4@example.com', password: '🦊🐙🦉🐝' });
    assert.equal(short.statusCode, 400);
    assert.deepEqual(short.json(), { error: 'Invalid password', reason: 'too_short' });
    // 256 emoji are 512 UTF-16 units but 256 characters
    const long = await register({ email: 'emoji256@example.com', password: '🦊🐙🦉🐝'.repeat(64) });
    assert.equal(long.statusCode, 201);
  });

  for (const password of ['password1', 'qwertyuiop', 'PassWord1', 'iloveyou']) {
    it(`a commonly used password (${password}) answers 400 Invalid password with reason common`, async () => {
      const res = await register({ email: `breached-${password.toLowerCase()}@example.com`, password });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { error: 'Invalid password', reason: 'common' });
    });
  }

  it('a closed project answers 403 Registration closed', async () => {
    const res = await register({ email: 'closed@example.com', password: 'violet kettle drum' }, freshIp(), closed.id);
    assert.equal(res.statusCode, 403);
    assert.deepEqual(res.json(), { error: 'Registration closed' });
    assert.equal(await app.services.users.findByEmail('closed@example.com'), undefined);
  });

  it('an invalid email answers 400 Invalid request', async () => {
    for (const email of ['', 'not-an-email', 'two@@example.com', 'space in@example.com']) {
      const res = await register({ email, password: 'violet kettle drum' });
      assert.equal(res.statusCode, 400, email);
      assert.equal(res.json().error, 'Invalid request', email);
    }
  });

  it('authorization parameters are checked first', async () => {
    const res = await register({ email: 'params@example.com', password: 'password1' }, freshIp(), 'no-such-project');
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { error: 'Invalid client_id' });
    const plain = await post(app, '/register', { ...authParams(project.id, pkcePair().challenge, { code_challenge_method: 'plain' }), email: 'p@example.com', password: 'x' });
    assert.deepEqual(plain.json(), { error: 'Only S256 code_challenge_method is supported' });
  });

  it('the 4th signup attempt from one IP within an hour answers 429 Rate limited, whatever the earlier outcomes', async () => {
    const ip = freshIp();
    assert.equal((await register({ email: 'rl-weak@example.com', password: 'password1' }, ip)).statusCode, 400);
    assert.equal((await register({ email: 'taken@example.com', password: 'violet kettle drum' }, ip)).statusCode, 409);
    assert.equal((await register({ email: 'rl-ok@example.com', password: 'violet kettle drum' }, ip)).statusCode, 201);
    const fourth = await register({ email: 'rl-fourth@example.com', password: 'violet kettle drum' }, ip);
    assert.equal(fourth.statusCode, 429);
    assert.deepEqual(fourth.json(), { error: 'Rate limited' });
    assert.equal(fourth.headers['retry-after'], undefined);
    assert.equal(await app.services.users.findByEmail('rl-fourth@example.com'), undefined);
    // closed projects and bad passwords are refused with 429 too, once the address is limited
    assert.equal((await register({ email: 'rl-fifth@example.com', password: 'x' }, ip, closed.id)).statusCode, 429);
    // another address is not affected
    assert.equal((await register({ email: 'rl-fourth@example.com', password: 'violet kettle drum' }, freshIp())).statusCode, 201);
  });

  it('requests refused by the authorization checks do not count towards the signup limit', async () => {
    const ip = freshIp();
    for (let i = 0; i < 4; i++) {
      const res = await register({ email: `uncounted${i}@example.com`, password: 'violet kettle drum' }, ip, 'no-such-project');
      assert.equal(res.statusCode, 400);
    }
    assert.equal((await register({ email: 'counted@example.com', password: 'violet kettle drum' }, ip)).statusCode, 201);
  });

  it('the hosted page form post is sent on to the app with a 303', async () => {
    const res = await postForm(
      app,
      '/register',
      formFields({ ...authParams(project.id, pkcePair().challenge), email: 'form@example.com', password: 'violet kettle drum' }),
      { accept: 'text/html,application/xhtml+xml', 'x-forwarded-for': freshIp() },
    );
    assert.equal(res.statusCode, 303);
    const location = new URL(res.headers.location as string);
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
    assert.ok(location.searchParams.get('code'));
    assert.equal(location.searchParams.get('state'), 'xyz');
    assert.ok(await app.services.users.findByEmail('form@example.com'));
  });

  it('a failed form post shows the page again with the status and the message', async () => {
    const res = await postForm(
      app,
      '/register',
      formFields({ ...authParams(project.id, pkcePair().challenge), email: 'taken@example.com', password: 'violet kettle drum' }),
      { accept: 'text/html', 'x-forwarded-for': freshIp() },
    );
    assert.equal(res.statusCode, 409);
    assert.match(res.headers['content-type'] as string, /^text\/html/);
    assert.match(res.body, /Email already registered/);
    assert.match(res.body, /action="\/register"/);
  });

  it('a cross-site form post is refused with 403 and creates nothing', async () => {
    const res = await postForm(
      app,
      '/register',
      formFields({ ...authParams(project.id, pkcePair().challenge), email: 'csrf@example.com', password: 'violet kettle drum' }),
      { accept: 'text/html', 'sec-fetch-site': 'cross-site', 'x-forwarded-for': freshIp() },
    );
    assert.equal(res.statusCode, 403);
    assert.equal(await app.services.users.findByEmail('csrf@example.com'), undefined);
  });
});
