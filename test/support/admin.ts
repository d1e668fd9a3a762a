// Admin API helpers for the test/admin-*.test.ts files: console tokens for any account and
// requests with a Bearer token.
import type { LightMyRequestResponse } from 'fastify';
import { pkcePair, type TestApp } from './app.ts';
import { authParams, post, type Tokens } from './flow.ts';

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

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One admin API request; a payload is sent as JSON. */
export function call(app: TestApp, token: string | undefined, method: Method, url: string, payload?: object): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method,
    url,
    headers: token !== undefined ? { authorization: `Bearer ${token}` } : {},
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
}
