import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { adminToken, bearer, createProject, createUser, exchangeCode, passwordCode, passwordTokens, post, refresh, REDIRECT_URI, sessionIdOf, type TestProject, type Tokens } from './support/flow.ts';
import { createPin, pinLogin, revokePin } from './pins-support.ts';

const PASSWORD = 'difference engine 1822';

describe('revoking a PIN', () => {
  let app: TestApp;
  let token: string;
  let project: TestProject;
  let ip = 0;
  const nextIp = () => `10.2.0.${++ip}`;

  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_TRUST_PROXY: 'true' } });
    token = await adminToken(app);
    project = await createProject(app);
    await createUser(app, 'charles@example.com', PASSWORD, project.id);
  });
  after(() => app.close());

  /** Logs in with the PIN and exchanges the code. */
  async function pinTokens(pin: string): Promise<Tokens> {
    const { response, verifier } = await pinLogin(app, project.id, pin, nextIp());
    assert.equal(response.statusCode, 200, response.body);
    return exchangeCode(app, project, response.json<{ code: string }>().code, verifier);
  }


  it('its refresh tokens then answer 403 PIN revoked, not Invalid refresh token', async () => {
    const pin = await createPin(app, token, project.id, 'Tablet');
    const tokens = await pinTokens(pin.pin);
    const before = await refresh(app, project, tokens.refresh_token);
    assert.equal(before.statusCode, 200);
    assert.equal((await revokePin(app, token, project.id, pin.id)).statusCode, 204);
    const res = await refresh(app, project, before.json<Tokens>().refresh_token);
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'PIN revoked' }]);
    // the session stays on record, not ended
    const session = await app.services.sessions.find(sessionIdOf(tokens.access_token));
    assert.ok(session);
    assert.equal(session.revoked_at, null);
  });

  it('its access tokens are refused by /userinfo at once', async () => {
    const pin = await createPin(app, token, project.id, 'Kitchen');
    const tokens = await pinTokens(pin.pin);
    const userinfo = () => app.server.inject({ method: 'GET', url: '/userinfo', headers: bearer(tokens.access_token) });
    assert.equal((await userinfo()).statusCode, 200);
    await revokePin(app, token, project.id, pin.id);
    assert.equal((await userinfo()).statusCode, 401);
  });

  it('a code issued before the revocation fails at exchange with 403 PIN revoked', async () => {
    const pin = await createPin(app, token, project.id, 'Classroom');
    const { response, verifier } = await pinLogin(app, project.id, pin.pin, nextIp());
    assert.equal(response.statusCode, 200);
    await revokePin(app, token, project.id, pin.id);
    const res = await post(app, '/token', {
      grant_type: 'authorization_code',
      client_id: project.id,
      code: response.json<{ code: string }>().code,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
    });
    assert.deepEqual([res.statusCode, res.json()], [403, { error: 'PIN revoked' }]);
  });

  it('other PINs and user sessions of the project keep working', async () => {
    const revoked = await createPin(app, token, project.id, 'Old');
    const kept = await createPin(app, token, project.id, 'New');
    const keptTokens = await pinTokens(kept.pin);
    const userTokens = await passwordTokens(app, project, 'charles@example.com', PASSWORD);
    await pinTokens(revoked.pin);
    await revokePin(app, token, project.id, revoked.id);
    assert.equal((await refresh(app, project, keptTokens.refresh_token)).statusCode, 200);
    assert.equal((await refresh(app, project, userTokens.refresh_token)).statusCode, 200);
  });

  it('its sessions are no longer listed as live (SessionService.listActive)', async () => {
    const other = await createProject(app);
    const revoked = await createPin(app, token, other.id, 'Revoked');
    const kept = await createPin(app, token, other.id, 'Kept');
    const login = async (pin: string) => {
      const { response, verifier } = await pinLogin(app, other.id, pin, nextIp());
      return exchangeCode(app, other, response.json<{ code: string }>().code, verifier);
    };
    const revokedSid = sessionIdOf((await login(revoked.pin)).access_token);
    const keptSid = sessionIdOf((await login(kept.pin)).access_token);
    await app.services.users.addMember(other.id, (await app.services.users.findByEmail('charles@example.com'))!.user.id);
    const { code, verifier } = await passwordCode(app, other.id, 'charles@example.com', PASSWORD);
    const userSid = sessionIdOf((await exchangeCode(app, other, code, verifier)).access_token);

    const listed = async () => (await app.services.sessions.listActive(other.id)).map((s) => s.id).sort();
    assert.deepEqual(await listed(), [keptSid, revokedSid, userSid].sort());
    await revokePin(app, token, other.id, revoked.id);
    assert.deepEqual(await listed(), [keptSid, userSid].sort());
    const keptSession = (await app.services.sessions.listActive(other.id)).find((s) => s.id === keptSid);
    assert.equal(keptSession?.subject, `pin:${kept.id}`);
    assert.equal(keptSession?.method, 'pin');
  });

  it('its sessions are not listed by GET /admin/projects/:id/sessions', async (t) => {
    if (!app.server.hasRoute({ method: 'GET', url: '/admin/projects/:id/sessions' })) {
      t.skip('GET /admin/projects/:id/sessions is not registered yet; listActive is tested above');
      return;
    }
    const other = await createProject(app);
    const revoked = await createPin(app, token, other.id, 'Revoked');
    const kept = await createPin(app, token, other.id, 'Kept');
    for (const pin of [revoked.pin, kept.pin]) {
      const { response, verifier } = await pinLogin(app, other.id, pin, nextIp());
      await exchangeCode(app, other, response.json<{ code: string }>().code, verifier);
    }
    const list = async () => {
      const res = await app.server.inject({ method: 'GET', url: `/admin/projects/${other.id}/sessions`, headers: bearer(token) });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ sessions: { subject: string }[] }>().sessions.map((s) => s.subject).sort();
    };
    assert.deepEqual(await list(), [`pin:${kept.id}`, `pin:${revoked.id}`].sort());
    await revokePin(app, token, other.id, revoked.id);
    assert.deepEqual(await list(), [`pin:${kept.id}`]);
  });
});
