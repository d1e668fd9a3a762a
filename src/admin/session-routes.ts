// Sessions of a project, and ending one (all its refresh tokens stop working).
import { NotFound } from '../errors.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams } from './schemas.ts';
import { pagedAnswer, pageRequest, PagingQueryString } from './paging.ts';

export function registerSessionRoutes(server: AdminServer, context: AdminContext): void {
  const { projects, sessions } = context.services;

  server.get('/admin/projects/:id/sessions', { schema: { params: IdParams, querystring: PagingQueryString } }, async (request) => {
    const page = pageRequest(request.query);
    if (!(await projects.find(request.params.id))) throw NotFound();
    return pagedAnswer('sessions', await sessions.listActivePage(request.params.id, page));
  });

  server.delete('/admin/sessions/:id', { schema: { params: IdParams } }, async (request, reply) => {
    // The id the listing shows (the stored hash of the sid), or the sid of the session's tokens.
    const session = await sessions.findByHandle(request.params.id);
    if (!session) throw NotFound();
    // Ending an already ended session changes nothing and answers the same.
    if (await sessions.revokeStored(session.id)) {
      await context.recordChange(request, 'admin.session.ended', {
        projectId: session.project_id,
        detail: { session_id: session.id, session_subject: session.subject },
      });
    }
    return reply.code(204).send();
  });
}
