// Admin API helpers for the test/admin-*.test.ts files: console tokens for any account and
// requests with a Bearer token.
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';
import { bearer, consoleTokens } from './flow.ts';

export { consoleTokens };

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One admin API request; a payload is sent as JSON. */
export function call(app: TestApp, token: string | undefined, method: Method, url: string, payload?: object): Promise<LightMyRequestResponse> {
  return app.server.inject({
    method,
    url,
    headers: token !== undefined ? bearer(token) : {},
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
}
