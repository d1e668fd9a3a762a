// What the console needed and the admin API lacked (docs/admin-api.md, docs/console.md): one audit
// event by its id, a user's sessions across projects and ending them all, and a password reset
// mailed to a user. Each is also a `gatehouse` command (src/cli/commands/console-gaps.ts).
import { Type } from 'typebox';
import { NotFound } from '../errors.ts';
import { mailResetLinkFor } from '../login/reset/reset-by-admin.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams } from './schemas.ts';
import { pagedAnswer, pageRequest, PagingQueryString } from './paging.ts';

const PasswordResetBody = Type.Union([
  Type.Object({ project: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })) }, { additionalProperties: false }),
  Type.Null(),
]);

export function registerConsoleGapRoutes(server: AdminServer, context: AdminContext): void {
  const { audit, users, sessions, browserSessions, projects } = context.services;

  server.get('/admin/audit/:id', { schema: { params: IdParams } }, async (request) => {
    const event = await audit.find(request.params.id);
    if (!event) throw NotFound();
    return event;
  });

  server.get('/admin/users/:id/sessions', { schema: { params: IdParams, querystring: PagingQueryString } }, async (request) => {
    const page = pageRequest(request.query);
    if (!(await users.find(request.params.id))) throw NotFound();
    return pagedAnswer('sessions', await sessions.listActivePageForUser(request.params.id, page));
  });

  // Signed out everywhere: every project session (refresh tokens answer 401) and every browser
  // session (the next /authorize shows the login page), as the account page's "Sign out everywhere".
  server.delete('/admin/users/:id/sessions', { schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    if (!(await users.find(id))) throw NotFound();
    await sessions.revokeWhere({ userId: id });
    await browserSessions.endForUser(id);
    await context.recordChange(request, 'admin.user.sessions_ended', { detail: { user_id: id } });
    return reply.code(204).send();
  });

  // The mail "Forgot password?" sends, sent now (an error of the mail server is the answer's). The
  // link finishes no sign-in: it sets the password and says so (decision 0120). A newer link ends
  // the older ones.
  server.post('/admin/users/:id/password-reset', { schema: { params: IdParams, body: Type.Optional(PasswordResetBody) } }, async (request, reply) => {
    const { id } = request.params;
    const record = await users.find(id);
    if (!record) throw NotFound();
    const projectId = request.body?.project;
    const project = projectId !== undefined ? (await projects.find(projectId))?.project : undefined;
    if (projectId !== undefined && !project) throw NotFound();
    const { expiresInSeconds } = await mailResetLinkFor(context.services, record.user, project);
    await context.recordChange(request, 'admin.user.password_reset_sent', { ...(project ? { projectId: project.id } : {}), detail: { user_id: id } });
    return reply.code(202).send({ sent: true, expires_in: expiresInSeconds });
  });
}
