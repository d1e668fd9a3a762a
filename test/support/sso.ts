// The setup the single sign-on test files share (docs/sso.md): a fresh app with an admin token,
// projects and a member, a password sign-in that hands the browser its session cookie, and
// /authorize asked by that browser.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, pkcePair, type TestApp } from './app.ts';
import { adminToken, authParams, bearer, createProject, createUser, exchangeCode, passwordCode, post, REDIRECT_URI, type AuthParams, type TestProject, type Tokens } from './flow.ts';

type ProjectOptions = NonNullable<Parameters<typeof createProject>[1]>;

export interface SsoSetup<P extends readonly ProjectOptions[] = []> {
  app: TestApp;
  /** a Bearer token of the configured admin */
  admin: string;
  /** the projects asked for, in order */
  projects: { -readonly [K in keyof P]: TestProject };
  /** the member's id ('' when no member was asked for) */
  userId: string;
}

export interface SsoSetupOptions<P extends readonly ProjectOptions[]> {
  env?: Record<string, string>;
  /** projects to create (through services.projects, as createProject does), in order */
  projects?: P;
  /** an account, a member of the first project */
  member?: { email: string; password: string };
}

/** A fresh app, the admin's token, the projects and the member asked for. */
export async function ssoSetup<const P extends readonly ProjectOptions[] = []>(options: SsoSetupOptions<P> = {}): Promise<SsoSetup<P>> {
  const app = await createTestApp(options.env ? { env: options.env } : {});
  const admin = await adminToken(app);
  const projects: TestProject[] = [];
  for (const project of options.projects ?? []) projects.push(await createProject(app, project));
  const userId = options.member ? await createUser(app, options.member.email, options.member.password, projects[0]?.id) : '';
  // One project per options entry, in order: the tuple type says so.
  return { app, admin, projects: projects as SsoSetup<P>['projects'], userId };
}

/** A project made through the admin API (POST /admin/projects), with its client secret when it has one. */
export async function adminProject(app: TestApp, admin: string, body: Record<string, unknown> = {}): Promise<TestProject> {
  const res = await post(app, '/admin/projects', { name: 'Test App', redirect_uris: [REDIRECT_URI], ...body }, bearer(admin));
  assert.equal(res.statusCode, 201, res.body);
  const created = res.json<{ id: string; client_secret?: string }>();
  return { id: created.id, ...(created.client_secret !== undefined ? { clientSecret: created.client_secret } : {}) };
}

/** The value of the browser session cookie a sign-in answer sets. */
export function browserCookie(response: LightMyRequestResponse): string {
  const cookie = /^gatehouse_session=([^;]+);/.exec(String(response.headers['set-cookie']))?.[1];
  assert.ok(cookie, `a browser session cookie: ${String(response.headers['set-cookie'])}`);
  return cookie;
}

/** A password sign-in at POST /login: the code, its PKCE verifier and the browser session cookie. */
export async function browserSignIn(
  app: TestApp,
  project: TestProject,
  email: string,
  password: string,
  extra: Partial<AuthParams> = {},
): Promise<{ cookie: string; code: string; verifier: string; response: LightMyRequestResponse }> {
  const { code, verifier, response } = await passwordCode(app, project.id, email, password, extra);
  return { cookie: browserCookie(response), code, verifier, response };
}

/** GET /authorize for `project` as a browser (Accept: text/html), with the browser session cookie or without one (null). */
export function authorizeInBrowser(
  app: TestApp,
  project: TestProject,
  cookie: string | null,
  extra: Record<string, string> = {},
  challenge = pkcePair().challenge,
): Promise<LightMyRequestResponse> {
  const query = new URLSearchParams({ ...(authParams(project.id, challenge) as AuthParams & Record<string, string>), ...extra });
  return app.server.inject({
    method: 'GET',
    url: `/authorize?${query.toString()}`,
    headers: { accept: 'text/html', ...(cookie !== null ? { cookie: `gatehouse_session=${cookie}` } : {}) },
  });
}

/** Single sign-on to `project` with the browser session cookie: the 302's code, exchanged. */
export async function ssoTokens(app: TestApp, project: TestProject, cookie: string): Promise<Tokens> {
  const { verifier, challenge } = pkcePair();
  const answer = await authorizeInBrowser(app, project, cookie, {}, challenge);
  assert.equal(answer.statusCode, 302, answer.body);
  const code = new URL(String(answer.headers.location)).searchParams.get('code');
  assert.ok(code, String(answer.headers.location));
  return exchangeCode(app, project, code, verifier);
}
