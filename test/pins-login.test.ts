import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { adminToken, authParams, assertAuthorizationResponse, createProject, exchangeCode, post, postForm, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { createPin, pinLogin, revokePin, type CreatedPin } from './pins-support.ts';

/** A PIN that is well-formed but not the given one. */
function wrongPin(pin: string): string {
  return pin.replace(/^./, (d) => String((Number(d) + 1) % 10));
}

describe('POST /login/pin', () => {
  let app: TestApp;
  let token: string;
  let project: TestProject;
  let kiosk: CreatedPin;
  let ip = 0;
  /** each test logs in from its own addresses so the per-IP limit stays out of the way */
  const nextIp = () => `10.1.0.${++ip}`;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    token = await adminToken(app);
    project = await createProject(app);
    kiosk = await createPin(app, token, project.id, 'Kiosk');
  });
  after(() => app.close());

  it('the right PIN answers redirect_to with code, state and iss', async () => {
    const { response } = await pinLogin(app, project.id, kiosk.pin, nextIp());
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    assertAuthorizationResponse(response, ISSUER);
  });

  it('the code exchanges for an access token whose sub is pin:<id> and amr is [pin]', async () => {
    const { response, verifier } = await pinLogin(app, project.id, kiosk.pin, nextIp());
    const tokens = await exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
    const jwks = createLocalJWKSet((await app.server.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: project.id, currentDate: new Date(app.clock.now()) });
    assert.equal(payload.sub, `pin:${kiosk.id}`);
    assert.deepEqual(payload.amr, ['pin']);
    assert.equal(payload.client_id, project.id);
    const session = await app.services.sessions.find(payload.sid as string);
    assert.equal(session?.pin_id, kiosk.id);
    assert.equal(session?.method, 'pin');
  });

  it('a wrong PIN answers 401 Invalid PIN', async () => {
    const { response } = await pinLogin(app, project.id, wrongPin(kiosk.pin), nextIp());
    assert.deepEqual([response.statusCode, response.json()], [401, { error: 'Invalid PIN' }]);
  });

  it('anything but a string of 8 digits is an invalid PIN, never a 500', async () => {
    for (const pin of [undefined, '', kiosk.pin.slice(0, 7), `${kiosk.pin}0`, ` ${kiosk.pin}`, '１２３４５６７８', 'abcdefgh', Number(kiosk.pin), [kiosk.pin], { pin: kiosk.pin }, null]) {
      const { response } = await pinLogin(app, project.id, pin, nextIp());
      assert.deepEqual([response.statusCode, response.json()], [401, { error: 'Invalid PIN' }], JSON.stringify(pin));
    }
  });

  it('the authorization parameters are checked first, with their messages', async () => {
    const { challenge } = pkcePair();
    const plain = await post(app, '/login/pin', { ...authParams(project.id, challenge), code_challenge_method: 'plain', pin: kiosk.pin });
    assert.deepEqual([plain.statusCode, plain.json()], [400, { error: 'Only S256 code_challenge_method is supported' }]);
    const unknown = await post(app, '/login/pin', { ...authParams('no-such-project', challenge), pin: kiosk.pin });
    assert.deepEqual([unknown.statusCode, unknown.json()], [400, { error: 'Invalid client_id' }]);
    const badRedirect = await post(app, '/login/pin', { ...authParams(project.id, challenge, { redirect_uri: 'https://evil.example/cb' }), pin: kiosk.pin });
    assert.deepEqual([badRedirect.statusCode, badRedirect.json()], [400, { error: 'Invalid redirect_uri' }]);
  });

  it('a PIN of project A does not log in to project B', async () => {
    const other = await createProject(app);
    const { response } = await pinLogin(app, other.id, kiosk.pin, nextIp());
    assert.deepEqual([response.statusCode, response.json()], [401, { error: 'Invalid PIN' }]);
  });

  it('a revoked PIN no longer logs in', async () => {
    const temporary = await createPin(app, token, project.id, 'Temporary');
    assert.equal((await revokePin(app, token, project.id, temporary.id)).statusCode, 204);
    const { response } = await pinLogin(app, project.id, temporary.pin, nextIp());
    assert.deepEqual([response.statusCode, response.json()], [401, { error: 'Invalid PIN' }]);
  });

  it('the hosted page form post is sent on to the app with a 303, and a wrong PIN gets the page with 401', async () => {
    const { challenge } = pkcePair();
    const fields = { ...authParams(project.id, challenge), scope: 'openid' } as Record<string, string>;
    const html = { accept: 'text/html', 'x-forwarded-for': nextIp() };
    const ok = await postForm(app, '/login/pin', { ...fields, pin: kiosk.pin }, html);
    assert.equal(ok.statusCode, 303);
    assert.ok(ok.headers.location?.startsWith(`${REDIRECT_URI}?code=`));
    const bad = await postForm(app, '/login/pin', { ...fields, pin: wrongPin(kiosk.pin) }, html);
    assert.equal(bad.statusCode, 401);
    assert.match(String(bad.headers['content-type']), /text\/html/);
    assert.ok(bad.body.includes('Invalid PIN'));
    assert.ok(!bad.body.includes(wrongPin(kiosk.pin)));
  });

  it('logins are audited as login.pin, success with the PIN as subject, and the PIN is never logged', async () => {
    const from = nextIp();
    await pinLogin(app, project.id, kiosk.pin, from);
    await pinLogin(app, project.id, wrongPin(kiosk.pin), from);
    const events = (await app.services.audit.list({ projectId: project.id, type: 'login.pin', limit: 100 })).filter((e) => e.ip === from);
    assert.deepEqual(events.map((e) => e.outcome).sort(), ['failure', 'success']);
    assert.equal(events.find((e) => e.outcome === 'success')!.subject, `pin:${kiosk.id}`);
    assert.equal(events.find((e) => e.outcome === 'failure')!.subject, null);
    const all = JSON.stringify(await app.services.audit.list({ limit: 1000 }));
    assert.ok(!all.includes(kiosk.pin));
    assert.ok(!all.includes(wrongPin(kiosk.pin)));
  });

  describe('per-address limit', () => {
    it('after 5 failures from one address the 6th, even with the right PIN, answers 429; another address still logs in', async () => {
      const from = nextIp();
      for (let i = 0; i < 5; i++) {
        const { response } = await pinLogin(app, project.id, wrongPin(kiosk.pin), from);
        assert.equal(response.statusCode, 401);
      }
      const sixth = await pinLogin(app, project.id, kiosk.pin, from);
      assert.deepEqual([sixth.response.statusCode, sixth.response.json()], [429, { error: 'Rate limited' }]);
      assert.equal(sixth.response.headers['retry-after'], undefined);
      // the refused attempt is not an audited failure: a flood cannot grow the log
      const audited = (await app.services.audit.list({ projectId: project.id, type: 'login.pin', limit: 1000 })).filter((e) => e.ip === from);
      assert.equal(audited.length, 5);
      const elsewhere = await pinLogin(app, project.id, kiosk.pin, nextIp());
      assert.equal(elsewhere.response.statusCode, 200);
    });

    it('successful logins do not count: many in a row from one address all succeed', async () => {
      const from = nextIp();
      for (let i = 0; i < 8; i++) {
        const { response } = await pinLogin(app, project.id, kiosk.pin, from);
        assert.equal(response.statusCode, 200);
      }
      for (let i = 0; i < 4; i++) assert.equal((await pinLogin(app, project.id, wrongPin(kiosk.pin), from)).response.statusCode, 401);
      assert.equal((await pinLogin(app, project.id, kiosk.pin, from)).response.statusCode, 200);
    });

    it('a burst of 20 parallel wrong PINs from one address gets at most 5 tries', async () => {
      const from = nextIp();
      const results = await Promise.all(Array.from({ length: 20 }, () => pinLogin(app, project.id, wrongPin(kiosk.pin), from)));
      const tried = results.filter((r) => r.response.statusCode === 401).length;
      const limited = results.filter((r) => r.response.statusCode === 429).length;
      assert.equal(tried, 5);
      assert.equal(limited, 15);
    });
  });

  describe('per-project budget of failed PINs (GATEHOUSE_PIN_FAILURES_PER_DAY=3)', () => {
    let budgetApp: TestApp;
    let budgetToken: string;

    before(async () => {
      budgetApp = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true', GATEHOUSE_PIN_FAILURES_PER_DAY: '3' } });
      budgetToken = await adminToken(budgetApp);
    });
    after(() => budgetApp.close());

    it('failures spread over 3 addresses spend it: a 4th address with the right PIN gets 429, another project is unaffected', async () => {
      const guessed = await createProject(budgetApp);
      const bystander = await createProject(budgetApp);
      const pin = await createPin(budgetApp, budgetToken, guessed.id);
      const bystanderPin = await createPin(budgetApp, budgetToken, bystander.id);
      for (const from of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
        const { response } = await pinLogin(budgetApp, guessed.id, wrongPin(pin.pin), from);
        assert.deepEqual([response.statusCode, response.json()], [401, { error: 'Invalid PIN' }]);
      }
      const fourth = await pinLogin(budgetApp, guessed.id, pin.pin, '192.0.2.4');
      assert.deepEqual([fourth.response.statusCode, fourth.response.json()], [429, { error: 'Rate limited' }]);
      const other = await pinLogin(budgetApp, bystander.id, bystanderPin.pin, '192.0.2.5');
      assert.equal(other.response.statusCode, 200);
      // the refused attempt did not spend the 4th address's own allowance of 5 failures:
      // 4 more failures (on two other projects, within their budgets) still leave it a try
      const third = await createProject(budgetApp);
      for (const target of [bystander.id, bystander.id, third.id, third.id]) {
        const { response } = await pinLogin(budgetApp, target, wrongPin(bystanderPin.pin), '192.0.2.4');
        assert.equal(response.statusCode, 401);
      }
      const stillAllowed = await pinLogin(budgetApp, bystander.id, bystanderPin.pin, '192.0.2.4');
      assert.equal(stillAllowed.response.statusCode, 200);
    });

    it('a burst of parallel guesses from many addresses gets no more tries than the budget', async () => {
      const guessed = await createProject(budgetApp);
      const pin = await createPin(budgetApp, budgetToken, guessed.id);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => pinLogin(budgetApp, guessed.id, wrongPin(pin.pin), `198.51.100.${i + 1}`)),
      );
      assert.equal(results.filter((r) => r.response.statusCode === 401).length, 3);
      assert.equal(results.filter((r) => r.response.statusCode === 429).length, 27);
    });
  });
});
