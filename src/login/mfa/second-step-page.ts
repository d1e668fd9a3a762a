// The hosted second step (mfa.md), sent: in the project's brand (accounts.md "Branding"), and with
// a CSP whose form-action allows the app, since its posts to /login/mfa redirect there.
import type { FastifyReply } from 'fastify';
import { sendHtml } from '../../http/html.ts';
import type { AuthorizationRequest } from '../../oauth/authorization-request.ts';
import { projectBrand } from '../../pages/brand.ts';
import { renderSecondStepPage } from '../../pages/render.ts';

export type SecondStepPageOptions = Omit<Parameters<typeof renderSecondStepPage>[0], 'brand'>;

export function secondStepPage(authorization: AuthorizationRequest, options: SecondStepPageOptions): string {
  return renderSecondStepPage({ ...options, brand: projectBrand(authorization.project) });
}

export function sendSecondStepPage(reply: FastifyReply, authorization: AuthorizationRequest, options: SecondStepPageOptions, status = 200): FastifyReply {
  return sendHtml(reply, status, secondStepPage(authorization, options), authorization.redirectUri, projectBrand(authorization.project));
}
