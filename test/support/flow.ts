// Steps of the OAuth flow that many tests share, driven through HTTP (app.server.inject).
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { pkcePair, type TestApp } from './app.ts';

export const REDIRECT_URI = 'https://app.example.com/callback';

export interface TestProject {
  id: string;
  clientSecret?: string;
}

export async function createProject(
  app: TestApp,
  options: { id?: string; registrationOpen?: boolean; confidential?: boolean; redirectUris?: string[] } = {},
): Promise<TestProject> {
  const created = await app.services.projects.create({
    id: options.id ?? `app-${Math.random().toString(36).slice(2, 10)}`,
    name: 'Test App',
    redirect_uris: options.redirectUris ?? [REDIRECT_URI],
    registration_open: options.registrationOpen ?? true,
    confidential: options.confidential ?? false,
  });
  if (!created) throw new Error('project id taken');
  return { id: created.project.id, ...(created.clientSecret ? { clientSecret: created.clientSecret } : {}) };
}

export async function createUser(app: TestApp, email: string, password: string, projectId?: string): Promise<string> {
  const user = await app.services.users.create({ email, password });
  if (!user) throw new Error('email taken');
  if (projectId) await app.services.users.addMember(projectId, user.id);
  return user.id;
}

export interface AuthParams {
  response_type: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  code_challenge_method: string;
  state?: string;
  scope?: string;
  nonce?: string;
  ui_locales?: string;
}

export function authParams(clientId: string, challenge: string, extra: Partial<AuthParams> = {}): AuthParams {
  return {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'xyz',
    scope: 'openid email',
    ...extra,
  };
}

/** The Authorization header of a request made with a Bearer token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function post(app: TestApp, url: string, payload: object, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.server.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });
}

export function postForm(app: TestApp, url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method: 'POST',
    url,
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** Logs in by password and answers the code and the PKCE verifier that goes with it. */
export async function passwordCode(
  app: TestApp,
  clientId: string,
  email: string,
  password: string,
  extra: Partial<AuthParams> = {},
): Promise<{ code: string; verifier: string; response: LightMyRequestResponse }> {
  const { verifier, challenge } = pkcePair();
  const response = await post(app, '/login', { ...authParams(clientId, challenge, extra), email, password });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return { code: response.json<{ code: string }>().code, verifier, response };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token?: string;
  expires_in: number;
  scope: string;
  token_type: string;
}

/** The session id (`sid` claim) of an access token, read without verifying it. */
export function sessionIdOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString()) as { sid: string };
  return payload.sid;
}

export async function exchangeCode(app: TestApp, project: TestProject, code: string, verifier: string): Promise<Tokens> {
  const response = await post(app, '/token', {
    grant_type: 'authorization_code',
    client_id: project.id,
    ...(project.clientSecret ? { client_secret: project.clientSecret } : {}),
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT_URI,
  });
  if (response.statusCode !== 200) throw new Error(`exchange failed: ${response.statusCode} ${response.body}`);
  return response.json<Tokens>();
}

/** Logs in by password and exchanges the code: the tokens of a fresh session. */
export async function passwordTokens(app: TestApp, project: TestProject, email: string, password: string, extra: Partial<AuthParams> = {}): Promise<Tokens> {
  const { code, verifier } = await passwordCode(app, project.id, email, password, extra);
  return exchangeCode(app, project, code, verifier);
}

export function refresh(app: TestApp, project: TestProject, refreshToken: string): Promise<LightMyRequestResponse> {
  return post(app, '/token', {
    grant_type: 'refresh_token',
    client_id: project.id,
    ...(project.clientSecret ? { client_secret: project.clientSecret } : {}),
    refresh_token: refreshToken,
  });
}

/** Tokens of any console member, through the console project's normal flow. */
export async function consoleTokens(app: TestApp, email: string, password: string): Promise<Tokens> {
  const redirectUri = `${app.config.issuer}/console/callback`;
  const { verifier, challenge } = pkcePair();
  const login = await post(app, '/login', { ...authParams('console', challenge, { redirect_uri: redirectUri }), email, password });
  if (login.statusCode !== 200) throw new Error(`console login failed: ${login.statusCode} ${login.body}`);
  const token = await post(app, '/token', {
    grant_type: 'authorization_code',
    client_id: 'console',
    code: login.json<{ code: string }>().code,
    code_verifier: verifier,
    redirect_uri: redirectUri,
  });
  if (token.statusCode !== 200) throw new Error(`console token failed: ${token.statusCode} ${token.body}`);
  return token.json<Tokens>();
}

/** A Bearer token of the configured admin, through the console project's normal flow. */
export async function adminToken(app: TestApp): Promise<string> {
  return (await consoleTokens(app, app.config.adminEmail ?? '', app.config.adminPassword ?? '')).access_token;
}

/**
 * The answer of a successful login: exactly redirect_to, code and state, where redirect_to is
 * the app's redirect URI with that code, the state and the issuer (RFC 9207) appended.
 */
export function assertAuthorizationResponse(response: LightMyRequestResponse, issuer: string, state = 'xyz'): { code: string } {
  const body = response.json<{ redirect_to: string; code: string; state: string }>();
  assert.deepEqual(Object.keys(body).sort(), ['code', 'redirect_to', 'state']);
  assert.equal(body.state, state);
  const target = new URL(body.redirect_to);
  assert.equal(`${target.origin}${target.pathname}`, REDIRECT_URI);
  assert.equal(target.searchParams.get('code'), body.code);
  assert.equal(target.searchParams.get('state'), state);
  assert.equal(target.searchParams.get('iss'), issuer);
  return { code: body.code };
}
