// HTML answers: escaping for every value placed in a page or a mail, and sending a page with the
// headers every page needs.
import type { FastifyReply } from 'fastify';
import { pageCsp } from './csp.ts';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Sends a page; a page whose form leads on to an app names that app's redirect URI, and a page
 * that shows a project's logo names that project's brand (its CSP allows the logo's origin).
 */
export function sendHtml(reply: FastifyReply, status: number, html: string, redirectUri?: string, brand?: { logoUrl?: string | undefined }): FastifyReply {
  const logoUrl = brand?.logoUrl;
  if (redirectUri !== undefined || logoUrl !== undefined) reply.header('content-security-policy', pageCsp(redirectUri, logoUrl));
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
