// GET|POST /logout (OpenID Connect RP-Initiated Logout 1.0; docs/sso.md, "Logout"). The POST is
// the confirmation page's form: a hosted form, refused cross-site (src/http/same-origin.ts).
import { requestLocale, translator } from '../pages/i18n.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.ts';
import { bodyFields, field, queryFields, type Fields } from '../http/fields.ts';
import { sendHtml } from '../http/html.ts';
import { projectBrand } from '../pages/brand.ts';
import { clientInfo, prefersHtml } from '../http/negotiation.ts';
import { clearedBrowserSessionCookie, presentedBrowserSession } from '../login/browser-sign-in.ts';
import { renderErrorPage, renderLogoutConfirmPage, renderMessagePage } from '../pages/render.ts';
import type { Services } from '../services.ts';
import { afterLogout, checkLogoutRequest, signOut, signsOutAtOnce } from './logout.ts';

const LOGOUT_FIELDS = ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state'] as const;

export function registerLogoutRoutes(server: FastifyInstance, services: Services): void {
  const { config } = services;

  async function answerLogout(request: FastifyRequest, reply: FastifyReply, fields: Fields | undefined, confirmed: boolean): Promise<FastifyReply> {
    reply.header('cache-control', 'no-store');
    try {
      const logout = await checkLogoutRequest(services, fields);
      // The pages of a logout a project asked for wear its brand.
      const brand = logout.project ? projectBrand(logout.project) : undefined;
      const cookie = presentedBrowserSession(request, config.issuer);
      const browserSession = cookie !== undefined ? await services.browserSessions.use(cookie) : undefined;
      if (!confirmed && !signsOutAtOnce(logout, browserSession)) {
        const carried: Record<string, string> = {};
        for (const name of LOGOUT_FIELDS) {
          const value = field(fields, name);
          if (value !== undefined) carried[name] = value;
        }
        return sendHtml(reply, 200, renderLogoutConfirmPage(carried, requestLocale(request), brand), logout.postLogoutRedirectUri, brand);
      }
      await signOut(services, logout, browserSession, clientInfo(request));
      if (cookie !== undefined) reply.header('set-cookie', clearedBrowserSessionCookie(config.issuer));
      const target = afterLogout(logout);
      if (target !== undefined) return reply.code(302).header('location', target).send();
      const { t, locale } = translator(requestLocale(request));
      return sendHtml(reply, 200, renderMessagePage(t('logout.done_title'), [t('logout.done_text')], locale, brand), undefined, brand);
    } catch (error) {
      if (error instanceof HttpError && prefersHtml(request)) return sendHtml(reply, error.statusCode, renderErrorPage(error.statusCode, error.message, undefined, requestLocale(request)));
      throw error;
    }
  }

  server.get('/logout', (request, reply) => answerLogout(request, reply, queryFields(request), false));
  server.post('/logout', (request, reply) => answerLogout(request, reply, bodyFields(request), true));
}
