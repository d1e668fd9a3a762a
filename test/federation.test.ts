// Signing in with another OpenID provider (docs/federation.md), in process: Gatehouse through
// app.inject, the upstream a real oidc-provider on a free port (test/support/upstream.ts) that
// Gatehouse reaches over HTTP through openid-client. The person's browser is two cookie jars: one
// for Gatehouse (inject), one for the provider (fetch).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createTestApp, ISSUER, pkcePair, type TestApp } from './support/app.ts';
import { call, consoleTokens } from './support/admin.ts';
import { Browser, csrfOf, SAME_ORIGIN, toPath } from './support/cookie-browser.ts';
import { authParams, createProject, exchangeCode, REDIRECT_URI, type TestProject } from './support/flow.ts';
import { FetchBrowser, startUpstream, type Upstream } from './support/upstream.ts';
import { rfc6238 } from './support/totp.ts';

const CONNECTION = 'upstream';
const CALLBACK = `${ISSUER}/connections/${CONNECTION}/callback`;

describe('signing in with another OpenID provider', () => {
  let app: TestApp;
  let upstream: Upstream;
  let admin: string;
  let project: TestProject;
  let closedProject: TestProject;

  before(async () => {
    upstream = await startUpstream({
      redirectUris: [CALLBACK, `${ISSUER}/connections/second-up/callback`],
      accounts: [
        { sub: 'new-person', email: 'new.person@example.com', email_verified: true, name: 'New Person', given_name: 'New' },
        { sub: 'owner', email: 'owner@example.com', email_verified: true, name: 'Owner From Upstream' },
        { sub: 'claimer', email: 'victim@example.com', email_verified: false },
        { sub: 'text-true', email: 'texttrue@example.com', email_verified: 'true' },
        { sub: 'unverified-new', email: 'fresh.unverified@example.com', email_verified: false },
        { sub: 'closed-person', email: 'closed.person@example.com', email_verified: true },
        { sub: 'mfa-person', email: 'mfa.person@example.com', email_verified: true },
        { sub: 'forged', email: 'forged@example.com', email_verified: true },
        { sub: 'linker', email: 'someone.else@example.com', email_verified: true },
      ],
    });
    app = await createTestApp({ env: { GATEHOUSE_SECRET_KEY: 'k'.repeat(48) } });
    // The upstream keeps real time; Gatehouse's injected clock is brought to it (and moved from there).
    app.clock.advance(Date.now() - app.clock.now());
    admin = (await consoleTokens(app, 'admin@example.com', 'correct horse battery staple')).access_token;
    project = await createProject(app);
    closedProject = await createProject(app, { registrationOpen: false });
  });
  after(async () => {
    await app.close();
    await upstream.close();
  });

  async function createConnection(extra: Record<string, unknown> = {}) {
    return call(app, admin, 'POST', '/admin/connections', { id: CONNECTION, name: 'Upstream ID', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret, ...extra });
  }

  async function audit(type: string): Promise<Array<{ outcome: string; subject: string | null; detail: Record<string, unknown> | null }>> {
    const res = await call(app, admin, 'GET', `/admin/audit?type=${type}&limit=100`);
    return res.json<{ events: Array<{ outcome: string; subject: string | null; detail: Record<string, unknown> | null }> }>().events;
  }

  describe('connections in the admin API', () => {
    it('POST /admin/connections fetches discovery and answers 201 with the redirect_uri and never the secret', async () => {
      const res = await createConnection();
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json<Record<string, unknown>>();
      assert.equal(body.redirect_uri, CALLBACK);
      assert.equal(body.scopes, 'openid email profile');
      assert.equal(body.client_secret, undefined);
      assert.ok(!res.body.includes(upstream.clientSecret));
      const listed = await call(app, admin, 'GET', '/admin/connections');
      assert.ok(!listed.body.includes(upstream.clientSecret));
      assert.deepEqual(listed.json<{ connections: Array<{ id: string }> }>().connections.map((c) => c.id), [CONNECTION]);
      const shown = await call(app, admin, 'GET', `/admin/connections/${CONNECTION}`);
      assert.equal(shown.statusCode, 200);
      assert.ok(!shown.body.includes(upstream.clientSecret));
      // Sealed at rest under GATEHOUSE_SECRET_KEY.
      const row = await app.services.database.db.selectFrom('connections').select('client_secret').where('id', '=', CONNECTION).executeTakeFirstOrThrow();
      assert.ok(row.client_secret.startsWith('sealed:v1:'));
      assert.equal((await audit('connection.created')).length, 1);
    });

    it('an unreachable issuer, a document of another issuer and a bad issuer answer 400 Invalid request with a detail', async () => {
      const closed: Server = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      for (const issuer of [`http://127.0.0.1:${port}`, `${upstream.issuer}/other`, 'http://example.com', 'not a url']) {
        const res = await call(app, admin, 'POST', '/admin/connections', { id: 'bad-one', name: 'Bad', issuer, client_id: 'x', client_secret: 'y' });
        assert.equal(res.statusCode, 400, `${issuer}: ${res.body}`);
        assert.equal(res.json<{ error: string }>().error, 'Invalid request');
        assert.equal(typeof res.json<{ detail?: string }>().detail, 'string', issuer);
      }
      const res = await call(app, admin, 'POST', '/admin/connections', { id: 'no-openid', name: 'Bad', issuer: upstream.issuer, client_id: 'x', client_secret: 'y', scopes: 'email' });
      assert.equal(res.statusCode, 400);
      assert.equal((await call(app, admin, 'GET', '/admin/connections/bad-one')).statusCode, 404);
    });

    it('PATCH changes fields (audited); projects get connections, an unknown one answers 400 Invalid request', async () => {
      const patched = await call(app, admin, 'PATCH', `/admin/connections/${CONNECTION}`, { name: 'Upstream' });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json<{ name: string }>().name, 'Upstream');
      assert.equal((await audit('connection.updated')).length, 1);
      const unknown = await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { connections: ['nope-nope'] });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json<{ error: string }>().error, 'Invalid request');
      for (const p of [project, closedProject]) {
        const ok = await call(app, admin, 'PATCH', `/admin/projects/${p.id}`, { connections: [CONNECTION] });
        assert.equal(ok.statusCode, 200, ok.body);
        assert.deepEqual(ok.json<{ connections: string[] }>().connections, [CONNECTION]);
      }
      const fresh = await call(app, admin, 'GET', `/admin/projects/${(await createProject(app)).id}`);
      assert.deepEqual(fresh.json<{ connections: string[] }>().connections, []);
    });
  });

  /** The app's authorization parameters. */
  function params(target: TestProject, challenge: string, extra: Record<string, string> = {}): string {
    return new URLSearchParams({ ...authParams(target.id, challenge, { scope: 'openid email profile', state: 'app-state' }), ...extra } as Record<string, string>).toString();
  }

  /** From the hosted page's button to the provider's sign-in page; answers the provider's interaction URL. */
  async function toProvider(browser: Browser, upstreamBrowser: FetchBrowser, target: TestProject, challenge: string) {
    const start = await browser.get(`/connections/${CONNECTION}/start?${params(target, challenge)}`);
    assert.equal(start.statusCode, 302, start.body);
    const location = String(start.headers.location);
    assert.ok(location.startsWith(upstream.issuer), location);
    const page = await upstreamBrowser.follow(location, (next) => next.startsWith(ISSUER));
    assert.equal(page.response?.status, 200, `the provider's sign-in page, at ${page.url}`);
    return { interaction: page.url, authorizeUrl: new URL(location) };
  }

  /** The person signs in at the provider (or says no); answers Gatehouse's callback URL as the provider sends it. */
  async function atProvider(upstreamBrowser: FetchBrowser, interaction: string, sub: string, decision: 'allow' | 'deny' = 'allow'): Promise<string> {
    const posted = await upstreamBrowser.request(interaction, { form: { sub, decision } });
    const next = new URL(String(posted.headers.get('location')), interaction).toString();
    const back = await upstreamBrowser.follow(next, (url) => url.startsWith(ISSUER));
    assert.ok(back.url.startsWith(CALLBACK), back.url);
    return back.url;
  }

  /** The whole journey for `sub`: Gatehouse's answer to the callback (`headers` go with the callback). */
  async function journey(sub: string, target: TestProject = project, browser = new Browser(app), headers: Record<string, string> = {}) {
    const { verifier, challenge } = pkcePair();
    const upstreamBrowser = new FetchBrowser();
    const { interaction } = await toProvider(browser, upstreamBrowser, target, challenge);
    const callback = await atProvider(upstreamBrowser, interaction, sub);
    const answer = await browser.get(toPath(callback), headers);
    return { answer, verifier, browser, callback };
  }

  /** Where the end of a journey sends the browser: the spec's 302 (to anything but a browser's own navigation). */
  function appLocation(answer: { statusCode: number; body: string; headers: Record<string, unknown> }): string {
    assert.equal(answer.statusCode, 302, answer.body);
    return String(answer.headers.location);
  }

  /** A browser's own navigation gets the continue page instead: its refresh (and link) target. */
  function continuePageTarget(answer: { statusCode: number; body: string; headers: Record<string, unknown> }): string {
    assert.equal(answer.statusCode, 200, answer.body);
    const target = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(answer.body)?.[1];
    assert.ok(target, 'the continue page moves on by itself');
    assert.ok(answer.body.includes(`href="${target}"`), 'and links there');
    return target.replace(/&#38;/g, '&');
  }

  function codeOf(location: string): string {
    const url = new URL(location);
    assert.equal(url.origin + url.pathname, REDIRECT_URI, location);
    assert.equal(url.searchParams.get('state'), 'app-state');
    return url.searchParams.get('code') ?? assert.fail(`no code in ${location}`);
  }

  describe('the journey', () => {
    it('the hosted page shows "Continue with <name>" for the project\'s connections', async () => {
      const { challenge } = pkcePair();
      const page = await new Browser(app).get(`/authorize?${params(project, challenge)}`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /href="\/connections\/upstream\/start\?[^"]*client_id=/);
      assert.match(page.body, /Continue with Upstream/);
      const other = await createProject(app);
      assert.doesNotMatch((await new Browser(app).get(`/authorize?${params(other, challenge)}`)).body, /Continue with/);
    });

    it('start runs the four checks, refuses a connection the project does not offer, then 302s with code, PKCE S256, state, nonce and a cookie', async () => {
      const { challenge } = pkcePair();
      const bad = await new Browser(app).get(`/connections/${CONNECTION}/start?${params(project, challenge, { redirect_uri: 'https://evil.example/cb' })}`);
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /Invalid redirect_uri/);
      const other = await createProject(app);
      const notOffered = await app.server.inject({ method: 'GET', url: `/connections/${CONNECTION}/start?${params(other, challenge)}` });
      assert.equal(notOffered.statusCode, 400);
      assert.equal(notOffered.json<{ error: string }>().error, 'Invalid request');
      const unknown = await app.server.inject({ method: 'GET', url: `/connections/nope-nope/start?${params(project, challenge)}` });
      assert.equal(unknown.statusCode, 400);

      const start = await app.server.inject({ method: 'GET', url: `/connections/${CONNECTION}/start?${params(project, challenge)}` });
      assert.equal(start.statusCode, 302);
      const url = new URL(String(start.headers.location));
      assert.equal(url.origin, upstream.issuer);
      assert.equal(url.searchParams.get('response_type'), 'code');
      assert.equal(url.searchParams.get('client_id'), upstream.clientId);
      assert.equal(url.searchParams.get('redirect_uri'), CALLBACK);
      assert.equal(url.searchParams.get('scope'), 'openid email profile');
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
      assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.ok((url.searchParams.get('nonce') ?? '').length >= 20);
      const state = url.searchParams.get('state') ?? '';
      assert.ok(state.length >= 20);
      const cookie = String(start.headers['set-cookie']);
      assert.match(cookie, new RegExp(`^gatehouse_federation=${state}; Max-Age=600; HttpOnly; SameSite=Lax; Path=/`));
      // Neither the state nor the verifier is stored in the clear.
      const rows = await app.services.database.db.selectFrom('kv').select(['key', 'value']).where('key', 'like', 'fed:%').execute();
      if (app.config.redisUrl === undefined) {
        assert.ok(rows.length > 0);
        for (const row of rows) {
          assert.ok(!row.key.includes(state) && !row.value.includes(state));
          assert.ok(row.value.startsWith('sealed:v1:'));
        }
      }
    });

    it('a new person with a verified email gets an account, a browser session with amr ["fed"], a code, and the provider\'s profile', async () => {
      const { answer, verifier, browser } = await journey('new-person');
      const code = codeOf(appLocation(answer));
      assert.ok(browser.cookie('gatehouse_session'), 'a browser session');
      const tokens = await exchangeCode(app, project, code, verifier);
      const claims = decodeJwt(tokens.id_token ?? '');
      assert.deepEqual(claims.amr, ['fed']);
      assert.equal(claims.email, 'new.person@example.com');
      assert.equal(claims.email_verified, true);
      const user = (await app.services.users.findByEmail('new.person@example.com'))?.user;
      assert.ok(user);
      assert.equal(user.email_verified, true);
      assert.equal(user.name, 'New Person');
      assert.equal(user.given_name, 'New');
      assert.deepEqual((await app.services.connections.identitiesOf(user.id)).map((i) => [i.connection_id, i.sub]), [[CONNECTION, 'new-person']]);
      const sessions = await app.services.browserSessions.listForUser(user.id);
      assert.deepEqual(sessions[0]?.amr, ['fed']);
      const events = await audit('login.federated');
      assert.ok(events.some((e) => e.outcome === 'success' && e.subject === user.id && e.detail?.via === 'new_account'));
      assert.ok((await audit('identity.linked')).some((e) => e.subject === user.id));

      // The second time, the link is the way: the same account, and single sign-on works from it.
      const again = await journey('new-person');
      const tokens2 = await exchangeCode(app, project, codeOf(appLocation(again.answer)), again.verifier);
      assert.equal(decodeJwt(tokens2.id_token ?? '').sub, user.id);
      const { challenge } = pkcePair();
      const sso = await again.browser.get(`/authorize?${params(project, challenge)}`);
      assert.equal(sso.statusCode, 302, 'single sign-on with the federated browser session');
    });

    it('a browser\'s own navigation (Sec-Fetch-Mode: navigate) gets a page that moves on to the app; other clients get the 302', async () => {
      const navigated = await journey('new-person', project, new Browser(app), { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
      const code = codeOf(continuePageTarget(navigated.answer));
      assert.ok(navigated.answer.headers['cache-control']?.toString().includes('no-store'));
      await exchangeCode(app, project, code, navigated.verifier);
      // Accept: text/html alone (an HTTP client with a cookie jar) is not a browser's navigation.
      const scripted = await journey('new-person');
      assert.equal(scripted.answer.statusCode, 302);
      codeOf(String(scripted.answer.headers.location));
    });

    it('two tabs of one browser can each be at the provider: both journeys finish, in either order', async () => {
      const browser = new Browser(app);
      const tabs = [];
      for (const sub of ['new-person', 'new-person', 'new-person']) {
        const upstreamBrowser = new FetchBrowser();
        const { verifier, challenge } = pkcePair();
        const { interaction } = await toProvider(browser, upstreamBrowser, project, challenge);
        tabs.push({ sub, verifier, upstreamBrowser, interaction });
      }
      assert.equal(browser.cookie('gatehouse_federation')?.split('.').length, 3, 'the cookie holds the three states');
      // The first tab to have started finishes last; each finish leaves the others' states.
      for (const tab of [tabs[1], tabs[0], tabs[2]]) {
        assert.ok(tab);
        const callback = await atProvider(tab.upstreamBrowser, tab.interaction, tab.sub);
        const answer = await browser.get(toPath(callback));
        const tokens = await exchangeCode(app, project, codeOf(appLocation(answer)), tab.verifier);
        assert.ok(tokens.id_token);
      }
      assert.equal(browser.cookie('gatehouse_federation'), undefined, 'no journey left: the cookie is gone');

      // A fifth start forgets the oldest of four journeys under way.
      const many = new Browser(app);
      const states: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { challenge } = pkcePair();
        const start = await many.get(`/connections/${CONNECTION}/start?${params(project, challenge)}`);
        assert.equal(start.statusCode, 302);
        states.push(new URL(String(start.headers.location)).searchParams.get('state') ?? '');
      }
      assert.deepEqual(many.cookie('gatehouse_federation')?.split('.'), states.slice(1).reverse());
    });

    it('empty profile fields are filled, set ones are kept', async () => {
      const user = await app.services.users.create({ email: 'owner@example.com', password: 'a long passphrase here', email_verified: true, given_name: 'Kept' });
      await app.services.users.addMember(project.id, user.id);
      const { answer } = await journey('owner');
      appLocation(answer);
      const after = (await app.services.users.find(user.id))?.user;
      assert.equal(after?.name, 'Owner From Upstream');
      assert.equal(after?.given_name, 'Kept');
      assert.equal((await app.services.connections.identity(CONNECTION, 'owner'))?.user_id, user.id, 'linked by the verified email');
      assert.ok((await app.services.users.find(user.id))?.passwordHash, 'a verified account keeps its password');
    });

    it('a person who says no goes back to the app with error=access_denied and the app\'s state', async () => {
      const browser = new Browser(app);
      const upstreamBrowser = new FetchBrowser();
      const { challenge } = pkcePair();
      const { interaction } = await toProvider(browser, upstreamBrowser, project, challenge);
      const callback = await atProvider(upstreamBrowser, interaction, 'new-person', 'deny');
      assert.equal(new URL(callback).searchParams.get('error'), 'access_denied');
      const answer = await browser.get(toPath(callback));
      const location = new URL(appLocation(answer));
      assert.equal(location.origin + location.pathname, REDIRECT_URI);
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('state'), 'app-state');
      assert.equal(location.searchParams.get('code'), null);
      assert.equal(browser.cookie('gatehouse_session'), undefined);
    });

    it('a replayed callback and a wrong state answer 400 Invalid or expired token', async () => {
      const { answer, callback, browser } = await journey('new-person');
      appLocation(answer);
      // The same callback again, with the journey cookie put back: the journey was taken once.
      browser.setCookie('gatehouse_federation', new URL(callback).searchParams.get('state') ?? '');
      const replay = await browser.get(toPath(callback));
      assert.equal(replay.statusCode, 400);
      assert.match(replay.body, /Invalid or expired token/);

      // A callback whose state is not this browser's cookie.
      const other = new Browser(app);
      const upstreamBrowser = new FetchBrowser();
      const { challenge } = pkcePair();
      const { interaction } = await toProvider(other, upstreamBrowser, project, challenge);
      const good = await atProvider(upstreamBrowser, interaction, 'new-person');
      const wrong = new URL(good);
      wrong.searchParams.set('state', 'x'.repeat(43));
      const refused = await other.get(toPath(wrong.toString()));
      assert.equal(refused.statusCode, 400);
      assert.match(refused.body, /Invalid or expired token/);
      // Another browser (no cookie) with the right state is refused too.
      const stranger = await app.server.inject({ method: 'GET', url: toPath(good) });
      assert.equal(stranger.statusCode, 400);
      assert.equal(stranger.json<{ error: string }>().error, 'Invalid or expired token');
    });

    it('the journey state expires with the injected clock', async () => {
      const browser = new Browser(app);
      const upstreamBrowser = new FetchBrowser();
      const { challenge } = pkcePair();
      const { interaction } = await toProvider(browser, upstreamBrowser, project, challenge);
      const callback = await atProvider(upstreamBrowser, interaction, 'new-person');
      app.clock.advance(11 * 60 * 1000);
      try {
        const late = await browser.get(toPath(callback));
        assert.equal(late.statusCode, 400);
      } finally {
        app.clock.advance(-11 * 60 * 1000);
      }
    });

    it('an ID token signed by another key is refused: 400, no account, no session', async () => {
      upstream.forgeIdTokens = true;
      try {
        const { answer, browser } = await journey('forged');
        assert.equal(answer.statusCode, 400, answer.body);
        assert.match(answer.body, /Invalid or expired token/);
        assert.equal(browser.cookie('gatehouse_session'), undefined);
        assert.equal(await app.services.users.findByEmail('forged@example.com'), undefined);
      } finally {
        upstream.forgeIdTokens = false;
      }
      assert.ok((await audit('login.federated')).some((e) => e.outcome === 'failure' && String(e.detail?.reason).startsWith('Invalid or expired token')));
    });

    it('a verified email links an unverified account: the registrant\'s password and sessions go first (pre-hijacking)', async () => {
      const registrant = await app.services.users.create({ email: 'target@example.com', password: 'the attacker password 1' });
      await app.services.users.addMember(project.id, registrant.id);
      upstream.accounts.set('target', { sub: 'target', email: 'target@example.com', email_verified: true });
      const { answer } = await journey('target');
      appLocation(answer);
      const after = await app.services.users.find(registrant.id);
      assert.equal(after?.passwordHash, null, 'the registrant\'s password is gone');
      assert.equal(after?.user.email_verified, true);
      assert.ok((await audit('account.unverified_credentials_cleared')).some((e) => e.subject === registrant.id && e.detail?.via === 'upstream_provider'));
    });

    it('an email the provider does not call verified never links an existing account: 409 Email already registered', async () => {
      const victim = await app.services.users.create({ email: 'victim@example.com', password: 'the victims password 1', email_verified: true });
      await app.services.users.create({ email: 'texttrue@example.com', password: 'the victims password 2' });
      for (const sub of ['claimer', 'text-true']) {
        const { answer, browser } = await journey(sub);
        assert.equal(answer.statusCode, 409, answer.body);
        assert.match(answer.body, /Email already registered/);
        assert.equal(browser.cookie('gatehouse_session'), undefined);
        assert.equal(await app.services.connections.identity(CONNECTION, sub), undefined);
      }
      assert.ok((await app.services.users.find(victim.id))?.passwordHash, 'the victim keeps everything');
    });

    it('an unverified email of nobody makes a new unverified account', async () => {
      const { answer } = await journey('unverified-new');
      appLocation(answer);
      assert.equal((await app.services.users.findByEmail('fresh.unverified@example.com'))?.user.email_verified, false);
    });

    it('a closed project refuses a new person with 403 Registration closed, and a stranger with 403 Not a member', async () => {
      const { answer } = await journey('closed-person', closedProject);
      assert.equal(answer.statusCode, 403);
      assert.match(answer.body, /Registration closed/);
      assert.equal(await app.services.users.findByEmail('closed.person@example.com'), undefined);
      const notMember = await journey('new-person', closedProject);
      assert.equal(notMember.answer.statusCode, 403);
      assert.match(notMember.answer.body, /Not a member/);
    });

    it('a person with a second factor gets the second step, then the app: amr fed otp mfa', async () => {
      const first = await journey('mfa-person');
      appLocation(first.answer);
      const user = (await app.services.users.findByEmail('mfa.person@example.com'))!.user;
      await enrol(user.id);
      const { answer, verifier, browser } = await journey('mfa-person');
      assert.equal(answer.statusCode, 200, 'the second step page');
      const mfaToken = /name="mfa_token" value="([^"]+)"/.exec(answer.body)?.[1];
      assert.ok(mfaToken);
      const step = await browser.post('/login/mfa', { mfa_token: mfaToken, totp_code: await currentCode(user.id) });
      assert.equal(step.statusCode, 303, step.body);
      const tokens = await exchangeCode(app, project, codeOf(String(step.headers.location)), verifier);
      assert.deepEqual(decodeJwt(tokens.id_token ?? '').amr, ['fed', 'otp', 'mfa']);
    });

    it('a provider that cannot be reached answers a clear 502 page, never a stack trace', async () => {
      const down = await startUpstream({ redirectUris: [`${ISSUER}/connections/down-one/callback`], accounts: [{ sub: 'x', email: 'x@example.com', email_verified: true }] });
      const created = await call(app, admin, 'POST', '/admin/connections', { id: 'down-one', name: 'Down', issuer: down.issuer, client_id: down.clientId, client_secret: down.clientSecret });
      assert.equal(created.statusCode, 201, created.body);
      await call(app, admin, 'PATCH', `/admin/projects/${project.id}`, { connections: [CONNECTION, 'down-one'] });
      const browser = new Browser(app);
      const upstreamBrowser = new FetchBrowser();
      const { challenge } = pkcePair();
      const start = await browser.get(`/connections/down-one/start?${params(project, challenge)}`);
      const page = await upstreamBrowser.follow(String(start.headers.location), (next) => next.startsWith(ISSUER));
      const callback = await atProvider2(upstreamBrowser, page.url, 'x');
      await down.close();
      const answer = await browser.get(toPath(callback));
      assert.equal(answer.statusCode, 502, answer.body);
      assert.match(answer.headers['content-type'] as string, /text\/html/);
      assert.match(answer.body, /Sign-in provider unavailable/);
      assert.doesNotMatch(answer.body, /at .*\.ts:\d+/);
    });
  });

  async function atProvider2(upstreamBrowser: FetchBrowser, interaction: string, sub: string): Promise<string> {
    const posted = await upstreamBrowser.request(interaction, { form: { sub, decision: 'allow' } });
    const back = await upstreamBrowser.follow(new URL(String(posted.headers.get('location')), interaction).toString(), (url) => url.startsWith(ISSUER));
    return back.url;
  }

  /** Adds a confirmed TOTP factor, with the code computed by the test's own RFC 6238. */
  const secrets = new Map<string, Buffer>();
  async function enrol(userId: string): Promise<void> {
    const pending = await app.services.secondFactors.beginTotp(userId);
    const key = base32Decode(pending.secret);
    secrets.set(userId, key);
    const confirmed = await app.services.secondFactors.confirmTotp(userId, rfc6238(key, Math.floor(app.clock.now() / 1000)));
    assert.ok(confirmed);
  }
  async function currentCode(userId: string): Promise<string> {
    // The next step: the confirming code's step is spent.
    app.clock.advance(30_000);
    return rfc6238(secrets.get(userId)!, Math.floor(app.clock.now() / 1000));
  }

  describe('the account page', () => {
    it('lists linked providers, links another, and never unlinks the last way in', async () => {
      // new-person has no password: the provider is the only way in.
      const { answer, browser } = await journey('new-person');
      appLocation(answer);
      const user = (await app.services.users.findByEmail('new.person@example.com'))!.user;
      // The account page signs in through its own project; with the browser session it goes straight through.
      let page = await openAccount(browser);
      assert.match(page.body, /Linked sign-in providers/);
      assert.match(page.body, /Upstream \(new\.person@example\.com\)/);
      const unlink = await browser.post('/account/connections/unlink', { csrf_token: csrfOf(page), connection_id: CONNECTION }, SAME_ORIGIN);
      assert.equal(unlink.headers.location, '/account?notice=last_way_in');
      assert.ok(await app.services.connections.identity(CONNECTION, 'new-person'));

      // Linking "Down" is offered; link the upstream identity `linker` through a second connection.
      const second = await call(app, admin, 'POST', '/admin/connections', { id: 'second-up', name: 'Second', issuer: upstream.issuer, client_id: upstream.clientId, client_secret: upstream.clientSecret });
      assert.equal(second.statusCode, 201, second.body);
      page = await openAccount(browser);
      assert.match(page.body, /Link Second/);
      const link = await browser.get(`/account/connections/link?connection_id=second-up&csrf_token=${encodeURIComponent(csrfOf(page))}`);
      assert.equal(link.statusCode, 302, link.body);
      const forged = await browser.get(`/account/connections/link?connection_id=second-up&csrf_token=wrong`);
      assert.equal(forged.statusCode, 403);
      // At the provider as `linker` (another email): linked to this account by the account page's journey.
      const upstreamBrowser = new FetchBrowser();
      const providerPage = await upstreamBrowser.follow(String(link.headers.location), (next) => next.startsWith(ISSUER));
      const callback = await atProvider2(upstreamBrowser, providerPage.url, 'linker');
      const done = await browser.get(toPath(callback));
      assert.equal(done.statusCode, 303, done.body);
      assert.equal(done.headers.location, '/account?notice=provider_linked');
      assert.equal((await app.services.connections.identity('second-up', 'linker'))?.user_id, user.id);
      page = await openAccount(browser);
      assert.match(page.body, /Second \(someone\.else@example\.com\)/);
      // Now another way in remains: the first provider may go.
      const unlinked = await browser.post('/account/connections/unlink', { csrf_token: csrfOf(page), connection_id: CONNECTION }, SAME_ORIGIN);
      assert.equal(unlinked.headers.location, '/account?notice=provider_unlinked');
      assert.equal(await app.services.connections.identity(CONNECTION, 'new-person'), undefined);
      assert.ok((await audit('identity.unlinked')).some((e) => e.subject === user.id));
      // Deleting a connection removes its links; the person keeps the account.
      const deleted = await call(app, admin, 'DELETE', '/admin/connections/second-up');
      assert.equal(deleted.statusCode, 204);
      assert.equal(await app.services.connections.identity('second-up', 'linker'), undefined);
      assert.ok(await app.services.users.find(user.id));
      assert.equal((await audit('connection.deleted')).length, 1);
    });
  });

  async function openAccount(browser: Browser) {
    let res = await browser.get('/account');
    for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) res = await browser.get(toPath(String(res.headers.location)));
    assert.equal(res.statusCode, 200, res.body);
    return res;
  }
});

/** RFC 4648 base32 (the TOTP secret as the account page shows it). */
function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
