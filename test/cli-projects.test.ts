// `gatehouse project update` and the single sign-on options of `gatehouse project create`: the
// admin API's fields and rules from the command line (run in this process through runCli, the
// entry point main.ts calls), checked against an app on the same database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import type { Project } from '../src/projects/projects.ts';
import { createTestApp, pkcePair, testEnv, type TestApp } from './support/app.ts';
import { call } from './support/admin.ts';
import { adminToken, authParams, post, REDIRECT_URI } from './support/flow.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('gatehouse project update, and project create with the single sign-on options', () => {
  const env = testEnv();
  let app: TestApp;
  let admin: string;
  before(async () => {
    app = await createTestApp({ env });
    admin = await adminToken(app);
  });
  after(() => app.close());

  async function cli(...argv: string[]): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env });
    return { code, stdout, stderr };
  }

  async function cliJson(...argv: string[]): Promise<Project & { client_secret?: string }> {
    const run = await cli(...argv, '--json');
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as Project & { client_secret?: string };
  }

  async function viaApi(id: string): Promise<Project> {
    const res = await call(app, admin, 'GET', `/admin/projects/${id}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Project>();
  }

  async function auditFields(id: string): Promise<unknown[]> {
    const events = await app.services.audit.list({ limit: 20, type: 'admin.project.updated' });
    // The fields in any order: which were changed is what counts.
    return events.filter((e) => e.project_id === id).map((e) => ({ ...e.detail, fields: [...((e.detail?.fields ?? []) as string[])].sort() }));
  }

  it('project create takes --allowed-origin, --login-method, --require-pkce, the lifetimes and --session-max', async () => {
    const created = await cliJson(
      'project', 'create', '--name', 'Spa', '--id', 'spa', '--redirect-uri', REDIRECT_URI, '--confidential',
      '--allowed-origin', 'https://spa.example.org', '--allowed-origin', 'http://localhost:5173',
      '--login-method', 'password', '--login-method', 'pin', '--require-pkce', 'false', '--session-max', '3600',
      '--code-ttl', '30', '--access-token-ttl', '300', '--refresh-token-ttl', 'default',
    );
    assert.ok(created.client_secret);
    const stored = await viaApi('spa');
    assert.deepEqual(
      [stored.allowed_origins, stored.login_methods, stored.require_pkce, stored.session_max_seconds, stored.confidential, stored.code_ttl_seconds, stored.access_token_ttl_seconds, stored.refresh_token_ttl_seconds],
      [['https://spa.example.org', 'http://localhost:5173'], ['password', 'pin'], false, 3600, true, 30, 300, null],
    );
    const shown = await cli('project', 'show', 'spa');
    assert.match(shown.stdout, /PKCE: +optional/);
    assert.match(shown.stdout, /sign-in: +password, pin/);
    assert.match(shown.stdout, /origins: +https:\/\/spa\.example\.org\n +http:\/\/localhost:5173/);
    assert.match(shown.stdout, /sessions: +at most 3600 s/);

    // The API's rules: a public project cannot do without PKCE, an origin is scheme://host[:port].
    const publicNoPkce = await cli('project', 'create', '--name', 'P', '--redirect-uri', REDIRECT_URI, '--require-pkce', 'false');
    assert.equal(publicNoPkce.code, 2);
    assert.match(publicNoPkce.stderr, /require_pkce: only a confidential project may set false/);
    const badOrigin = await cli('project', 'create', '--name', 'P', '--redirect-uri', REDIRECT_URI, '--allowed-origin', 'https://spa.example.org/app');
    assert.equal(badOrigin.code, 2);
    assert.match(badOrigin.stderr, /allowed_origins/);
    // (passkey is a method since mfa.md's passkeys: a name no method has)
    const badMethod = await cli('project', 'create', '--name', 'P', '--redirect-uri', REDIRECT_URI, '--login-method', 'telepathy');
    assert.equal(badMethod.code, 2);
    assert.match(badMethod.stderr, /--login-method must be one of password, magic_link, pin, passkey \(not telepathy\)/);
    assert.equal((await app.services.projects.list()).filter((p) => p.name === 'P').length, 0, 'nothing was created');
  });

  it('project update changes every field PATCH takes, prints the project as project show does, and is audited', async () => {
    await cliJson('project', 'create', '--name', 'Shop', '--id', 'shop', '--redirect-uri', REDIRECT_URI);
    const run = await cli(
      'project', 'update', 'shop',
      '--name', '  The Shop ',
      '--redirect-uri', 'https://shop.example.com/cb', '--redirect-uri', REDIRECT_URI,
      '--post-logout-redirect-uri', 'https://shop.example.com/bye',
      '--allowed-origin', 'https://spa.example.org',
      '--closed',
      '--signing-alg', 'RS256',
      '--login-method', 'magic_link',
      '--code-ttl', '120', '--access-token-ttl', '600', '--refresh-token-ttl', '86400', '--session-max', '7200',
    );
    assert.equal(run.code, 0, run.stderr);
    const stored = await viaApi('shop');
    assert.deepEqual(
      {
        name: stored.name,
        redirect_uris: stored.redirect_uris,
        post_logout_redirect_uris: stored.post_logout_redirect_uris,
        allowed_origins: stored.allowed_origins,
        registration_open: stored.registration_open,
        token_signing_alg: stored.token_signing_alg,
        login_methods: stored.login_methods,
        code_ttl_seconds: stored.code_ttl_seconds,
        access_token_ttl_seconds: stored.access_token_ttl_seconds,
        refresh_token_ttl_seconds: stored.refresh_token_ttl_seconds,
        session_max_seconds: stored.session_max_seconds,
      },
      {
        name: 'The Shop',
        redirect_uris: ['https://shop.example.com/cb', REDIRECT_URI],
        post_logout_redirect_uris: ['https://shop.example.com/bye'],
        allowed_origins: ['https://spa.example.org'],
        registration_open: false,
        token_signing_alg: 'RS256',
        login_methods: ['magic_link'],
        code_ttl_seconds: 120,
        access_token_ttl_seconds: 600,
        refresh_token_ttl_seconds: 86400,
        session_max_seconds: 7200,
      },
    );
    const shown = await cli('project', 'show', 'shop');
    assert.equal(run.stdout, `updated project shop\n${shown.stdout}`);
    assert.deepEqual(await auditFields('shop'), [
      {
        fields: [
          'name', 'redirect_uris', 'post_logout_redirect_uris', 'allowed_origins', 'login_methods', 'token_signing_alg',
          'code_ttl_seconds', 'access_token_ttl_seconds', 'refresh_token_ttl_seconds', 'session_max_seconds', 'registration_open',
        ].sort(),
        via: 'cli',
      },
    ]);

    // The app on the same database sees the change: the password form is switched off.
    const { challenge } = pkcePair();
    const login = await post(app, '/login', { ...authParams('shop', challenge), email: 'x@example.com', password: 'whatever it is' });
    assert.deepEqual([login.statusCode, login.json<{ error: string }>().error], [403, 'Login method not allowed']);
  });

  it('options left out are left alone; lists can be emptied, lifetimes put back to the default, registration opened', async () => {
    const before = await viaApi('shop');
    const changed = await cliJson('project', 'update', 'shop', '--no-post-logout-redirect-uris', '--no-allowed-origins', '--access-token-ttl', 'default', '--open');
    assert.deepEqual([changed.post_logout_redirect_uris, changed.allowed_origins, changed.access_token_ttl_seconds, changed.registration_open], [[], [], null, true]);
    assert.deepEqual(
      [changed.name, changed.redirect_uris, changed.login_methods, changed.code_ttl_seconds, changed.token_signing_alg],
      [before.name, before.redirect_uris, before.login_methods, before.code_ttl_seconds, before.token_signing_alg],
    );
    assert.deepEqual(await viaApi('shop'), changed);
    const [latest] = await auditFields('shop'); // newest first
    assert.deepEqual(latest, { fields: ['access_token_ttl_seconds', 'allowed_origins', 'post_logout_redirect_uris', 'registration_open'], via: 'cli' });
  });

  it('the API rules refuse with exit 2 and change nothing; an unknown project exits 1; the console keeps its redirect URI', async () => {
    const before = await viaApi('shop');
    for (const [args, message] of [
      [['--redirect-uri', 'http://shop.example.com/cb'], /redirect_uris/],
      [['--post-logout-redirect-uri', 'https://shop.example.com/bye#x'], /post_logout_redirect_uris/],
      [['--allowed-origin', 'https://spa.example.org/'], /allowed_origins/],
      [['--require-pkce', 'false'], /require_pkce: only a confidential project may set false/],
      [['--code-ttl', '601'], /--code-ttl: must be <= 600/],
      [['--access-token-ttl', '0'], /--access-token-ttl: must be >= 1/],
      [['--refresh-token-ttl', 'soon'], /--refresh-token-ttl must be a number of seconds or "default"/],
      [['--name', '\u0007bell'], /name must be 1 to 200 characters/],
      [['--signing-alg', 'HS256'], /--signing-alg must be one of ES256, RS256/],
      [['--open', '--closed'], /give --open or --closed, not both/],
      [['--allowed-origin', 'https://a.example', '--no-allowed-origins'], /not both/],
      [[], /nothing to change/],
    ] as const) {
      const run = await cli('project', 'update', 'shop', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    assert.deepEqual(await viaApi('shop'), before, 'nothing changed');

    const missing = await cli('project', 'update', 'nope', '--name', 'X', '--json');
    assert.equal(missing.code, 1);
    assert.deepEqual(JSON.parse(missing.stderr), { error: 'no project with id nope' });
    const console = await cli('project', 'update', 'console', '--redirect-uri', 'https://elsewhere.example.com/cb');
    assert.equal(console.code, 1);
    assert.match(console.stderr, /redirect URI/i);
    assert.deepEqual((await viaApi('console')).redirect_uris, [`${app.config.issuer}/console/callback`]);
  });

  it('project create and update take --client-credentials, --service-scopes and --admin-api, by the API rules', async () => {
    const created = await cliJson(
      'project', 'create', '--name', 'CI', '--id', 'ci-job', '--redirect-uri', REDIRECT_URI, '--confidential',
      '--client-credentials', 'true', '--service-scopes', 'reports:read,jobs:run', '--admin-api', 'true',
    );
    assert.deepEqual([created.client_credentials, created.service_scopes, created.admin_api], [true, ['reports:read', 'jobs:run'], true]);
    assert.deepEqual(await viaApi('ci-job'), (({ client_secret: _secret, ...project }) => project)(created));
    const grant = await post(app, '/token', { grant_type: 'client_credentials', client_id: 'ci-job', client_secret: created.client_secret ?? '', scope: 'admin jobs:run' });
    assert.equal(grant.statusCode, 200, grant.body);

    const changed = await cliJson('project', 'update', 'ci-job', '--service-scopes', '', '--admin-api', 'false');
    assert.deepEqual([changed.client_credentials, changed.service_scopes, changed.admin_api], [true, [], false]);

    const publicGrant = await cli('project', 'create', '--name', 'Spa', '--redirect-uri', REDIRECT_URI, '--client-credentials', 'true');
    assert.equal(publicGrant.code, 2);
    assert.match(publicGrant.stderr, /client_credentials: only a confidential project may set true/);
    for (const [args, message] of [
      [['--client-credentials', 'yes'], /--client-credentials must be true or false/],
      [['--admin-api', 'on'], /--admin-api must be true or false/],
      [['--service-scopes', 'admin'], /service_scopes/],
      [['--service-scopes', 'a,a'], /service_scopes/],
    ] as const) {
      const run = await cli('project', 'update', 'ci-job', ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    const help = await cli('project', 'create', '--help');
    for (const option of ['--client-credentials', '--service-scopes', '--admin-api']) assert.ok(help.stdout.includes(option), option);
  });

  it('--help lists the options and touches nothing', async () => {
    const help = await cli('project', 'update', '--help');
    assert.equal(help.code, 0);
    for (const option of ['--name', '--redirect-uri', '--post-logout-redirect-uri', '--allowed-origin', '--open', '--closed', '--signing-alg', '--require-pkce', '--login-method', '--code-ttl', '--access-token-ttl', '--refresh-token-ttl', '--session-max']) {
      assert.ok(help.stdout.includes(option), option);
    }
  });
});
