import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, createUser, post, postForm, type TestProject } from './support/flow.ts';

const PASSWORD = 'tabulating machine 1890';

describe('POST /login', () => {
  let app: TestApp;
  let open: TestProject;
  let closed: TestProject;
  const { challenge } = pkcePair();
  let ip = 0;
  /** each test logs in from its own address so the per-IP failure limit stays out of the way */
  const nextIp = () => `10.0.0.${++ip}`;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    open = await createProject(app);
    closed = await createProject(app, { registrationOpen: false });
    await createUser(app, 'herman@example.com', PASSWORD);
  });
  after(() => app.close());

  const login = (project: TestProject, email: string, password: string, from = nextIp(), extra = {}) =>
    post(app, '/login', { ...authParams(project.id, challenge), email, password, ...extra }, { 'x-forwarded-for': from });

  it('the authorization parameters are checked first, with their messages', async () => {
    const res = await post(app, '/login', { ...authParams(open.id, challenge), code_challenge_method: 'plain', email: 'x@example.com', password: 'x' });
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'Only S256 code_challenge_method is supported' }]);
    const unknown = await post(app, '/login', { ...authParams('no-such', challenge), email: 'x@example.com', password: 'x' });
    assert.deepEqual([unknown.statusCode, unknown.json()], [400, { error: 'Invalid client_id' }]);
  });

  it('an unknown email and a wrong password get the same 401 Invalid credentials', async () => {
    const unknown = await login(open, 'nobody@example.com', PASSWORD);
    const wrong = await login(open, 'herman@example.com', 'not the password');
    assert.deepEqual([unknown.statusCode, unknown.json()], [401, { error: 'Invalid credentials' }]);
    assert.deepEqual([wrong.statusCode, wrong.json()], [401, { error: 'Invalid credentials' }]);
  });

  it('an open project makes the person a member on first login', async () => {
    const res = await login(open, 'herman@example.com', PASSWORD);
    assert.equal(res.statusCode, 200);
    const user = await app.services.users.findByEmail('herman@example.com');
    assert.deepEqual(await app.services.users.membership(open.id, user!.user.id), { blocked: false });
  });

  it('the email is matched case-insensitively and trimmed', async () => {
    const res = await login(open, '  HERMAN@Example.com ', PASSWORD);
    assert.equal(res.statusCode, 200);
  });

  it('a closed project refuses a non-member with 403 Not a member', async () => {
    const res = await login(closed, 'herman@example.com', PASSWORD);
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Not a member' }]);
  });

  it('a blocked member gets 403 Account blocked', async () => {
    const user = await app.services.users.findByEmail('herman@example.com');
    const project = await createProject(app);
    await app.services.users.addMember(project.id, user!.user.id);
    await app.services.users.setBlocked(project.id, user!.user.id, true);
    const res = await login(project, 'herman@example.com', PASSWORD);
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Account blocked' }]);
  });

  it('after 5 failures from one IP, every attempt from it is refused with 429, even the right password', async () => {
    const from = '192.0.2.77';
    for (let i = 0; i < 5; i++) assert.equal((await login(open, 'herman@example.com', 'wrong', from)).statusCode, 401);
    const limited = await login(open, 'herman@example.com', PASSWORD, from);
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'Rate limited' }]);
    assert.equal(limited.headers['retry-after'], undefined);
    assert.equal((await login(open, 'herman@example.com', PASSWORD, '192.0.2.78')).statusCode, 200, 'another address is unaffected');
  });

  it('the per-IP limit reads the left-most X-Forwarded-For entry when every proxy is trusted', async () => {
    for (let i = 0; i < 5; i++) await login(open, 'herman@example.com', 'wrong', '198.51.100.9, 10.1.1.1');
    assert.equal((await login(open, 'herman@example.com', PASSWORD, '198.51.100.9')).statusCode, 429);
  });

  it('a form post from the hosted page gets a 303 to the app', async () => {
    const res = await postForm(
      app,
      '/login',
      { ...authParams(open.id, challenge), email: 'herman@example.com', password: PASSWORD } as Record<string, string>,
      { accept: 'text/html', 'x-forwarded-for': nextIp() },
    );
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /^https:\/\/app\.example\.com\/callback\?code=/);
  });

  it('a failed form post shows the page again with the same status and message', async () => {
    const res = await postForm(
      app,
      '/login',
      { ...authParams(open.id, challenge), email: 'herman@example.com', password: 'nope' } as Record<string, string>,
      { accept: 'text/html', 'x-forwarded-for': nextIp() },
    );
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /role="alert"[^>]*>Invalid credentials</);
    assert.match(res.body, /value="herman@example.com"/);
  });

  it('a cross-site form post is refused (login CSRF)', async () => {
    const res = await postForm(
      app,
      '/login',
      { ...authParams(open.id, challenge), email: 'herman@example.com', password: PASSWORD } as Record<string, string>,
      { accept: 'text/html', origin: 'https://evil.example.net', 'x-forwarded-for': nextIp() },
    );
    assert.equal(res.statusCode, 403);
    assert.doesNotMatch(String(res.headers.location ?? ''), /code=/);
  });

  it('a form post marked cross-site by the browser (Sec-Fetch-Site) is refused', async () => {
    const res = await postForm(
      app,
      '/login',
      { ...authParams(open.id, challenge), email: 'herman@example.com', password: PASSWORD } as Record<string, string>,
      { accept: 'text/html', 'sec-fetch-site': 'cross-site', 'x-forwarded-for': nextIp() },
    );
    assert.equal(res.statusCode, 403);
  });

  it('an unknown email costs a full password verification, like a wrong password', async () => {
    let verifications = 0;
    const original = app.services.hasher.verify.bind(app.services.hasher);
    app.services.hasher.verify = async (hash, password) => {
      verifications++;
      return original(hash, password);
    };
    try {
      await login(open, 'ghost@example.com', PASSWORD);
      assert.equal(verifications, 1);
    } finally {
      app.services.hasher.verify = original;
    }
  });
});

describe('POST /login under a burst of parallel guesses', () => {
  it('twenty parallel wrong passwords from one address: at most five are checked, the rest answer 429', async () => {
    const app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    try {
      const project = await createProject(app);
      await createUser(app, 'burst@example.com', PASSWORD, project.id);
      const { challenge } = pkcePair();
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          post(app, '/login', { ...authParams(project.id, challenge), email: 'burst@example.com', password: 'guess' }, { 'x-forwarded-for': '203.0.113.50' }),
        ),
      );
      assert.equal(results.filter((r) => r.statusCode === 401).length, 5);
      assert.equal(results.filter((r) => r.statusCode === 429).length, 15);
    } finally {
      await app.close();
    }
  });
});
