// What the console needed and the admin API lacked (docs/admin-api.md, docs/console.md): one audit
// event by its id, a user's sessions across projects and ending them all, and a password reset
// mailed to a user. Each is also a `gatehouse` command (src/cli/commands/console-gaps.ts).
import { Type } from 'typebox';
import { NotFound } from '../errors.ts';
import { passwordResetMessage } from '../mail/account-messages.ts';
import { chooseLocale } from '../pages/i18n.ts';
import type { Project } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import type { User } from '../users/users.ts';
import { accountTokens } from '../login/verify-email/routes.ts';
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

// A password reset link mailed at an admin's request (the route above, and `gatehouse user
// password-reset`): the mail of "Forgot password?", sent now, whose link sets the password and
// finishes no sign-in (docs/decisions/0120-a-reset-mailed-by-an-admin-signs-in-nowhere.md).
/** Mails `user` a reset link (a newer one ends the older ones); throws when the mail server refuses it. */
export async function mailResetLinkFor(services: Services, user: User, project?: Project): Promise<{ expiresInSeconds: number }> {
  const { config, mailer } = services;
  const tokens = accountTokens(services);
  const expiresInSeconds = config.passwordResetTtlSeconds;
  const { token, issued } = await tokens.issue({ purpose: 'password_reset', user, ttlMs: expiresInSeconds * 1000 });
  await tokens.endOlder(issued);
  const link = `${config.issuer}/password-reset/verify?token=${encodeURIComponent(token)}`;
  // The person's own language when their profile names one of the pages' languages.
  const locale = chooseLocale({ uiLocales: user.locale ?? undefined });
  await tokens.mail(issued, () => mailer.send(passwordResetMessage({ to: user.email, projectName: project?.name ?? 'Gatehouse', link, expiresInSeconds, locale })));
  return { expiresInSeconds };
}
