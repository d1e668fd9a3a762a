// Steps the PIN tests share: the admin API for PINs and a PIN login up to the code.
import type { LightMyRequestResponse } from 'fastify';
import { pkcePair, type TestApp } from './support/app.ts';
import { authParams, bearer, post, type AuthParams } from './support/flow.ts';

export interface CreatedPin {
  id: string;
  pin: string;
  label: string | null;
}

export function createPinRequest(app: TestApp, token: string, projectId: string, body: object = {}): Promise<LightMyRequestResponse> {
  return post(app, `/admin/projects/${projectId}/pins`, body, bearer(token));
}

export async function createPin(app: TestApp, token: string, projectId: string, label?: string): Promise<CreatedPin> {
  const res = await createPinRequest(app, token, projectId, label !== undefined ? { label } : {});
  if (res.statusCode !== 201) throw new Error(`PIN creation failed: ${res.statusCode} ${res.body}`);
  return res.json<CreatedPin>();
}

export function listPins(app: TestApp, token: string, projectId: string): Promise<LightMyRequestResponse> {
  return app.server.inject({ method: 'GET', url: `/admin/projects/${projectId}/pins`, headers: bearer(token) });
}

export function revokePin(app: TestApp, token: string, projectId: string, pinId: string): Promise<LightMyRequestResponse> {
  return app.server.inject({ method: 'DELETE', url: `/admin/projects/${projectId}/pins/${pinId}`, headers: bearer(token) });
}

/** POST /login/pin from the given address (the tests run with GATEHOUSE_TRUST_PROXY=true). */
export async function pinLogin(
  app: TestApp,
  projectId: string,
  pin: unknown,
  ip: string,
  extra: Partial<AuthParams> = {},
): Promise<{ response: LightMyRequestResponse; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const response = await post(app, '/login/pin', { ...authParams(projectId, challenge, extra), pin }, { 'x-forwarded-for': ip });
  return { response, verifier };
}
