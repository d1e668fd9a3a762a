// Browser sessions of a user (docs/sso.md), and ending one: that browser is signed out.
import { NotFound } from '../errors.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams } from './schemas.ts';

export function registerBrowserSessionRoutes(server: AdminServer, context: AdminContext): void {
  const { users, browserSessions } = context.services;

  server.get('/admin/users/:id/browser-sessions', { schema: { params: IdParams } }, async (request) => {
    if (!(await users.find(request.params.id))) throw NotFound();
    return { browser_sessions: await browserSessions.listForUser(request.params.id) };
  });

  server.delete('/admin/browser-sessions/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const session = await browserSessions.find(request.params.id);
    if (!session) throw NotFound();
    if (await browserSessions.end(session.id)) {
      await context.recordChange(request, 'admin.browser_session.ended', { detail: { browser_session_id: session.id, user_id: session.userId } });
    }
    return reply.code(204).send();
  });
}
