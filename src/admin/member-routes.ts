// /admin/projects/:id/members: who belongs to a project, and who is blocked in it.
import { NotFound } from '../errors.ts';
import { addMembership } from '../users/account-changes.ts';
import type { Membership } from '../users/users.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, MemberParams } from './schemas.ts';
import { pagedAnswer, pageRequest, PagingQueryString } from './paging.ts';

export function registerMemberRoutes(server: AdminServer, context: AdminContext): void {
  const { projects, users } = context.services;

  async function memberOrNotFound(projectId: string, userId: string): Promise<Membership> {
    const member = await users.member(projectId, userId);
    if (!member) throw NotFound();
    return member;
  }

  server.get('/admin/projects/:id/members', { schema: { params: IdParams, querystring: PagingQueryString } }, async (request) => {
    const page = pageRequest(request.query);
    if (!(await projects.find(request.params.id))) throw NotFound();
    return pagedAnswer('members', await users.membersPage(request.params.id, page));
  });

  // PUT is idempotent: adding a member twice answers the same member, and never unblocks.
  server.put('/admin/projects/:id/members/:user_id', { schema: { params: MemberParams } }, async (request) => {
    const { id, user_id: userId } = request.params;
    const joined = await addMembership(context.services, id, userId);
    if (!joined) throw NotFound();
    if (joined.added) await context.recordChange(request, 'admin.member.added', { projectId: id, detail: { user_id: userId } });
    return joined.member;
  });

  server.delete('/admin/projects/:id/members/:user_id', { schema: { params: MemberParams } }, async (request, reply) => {
    const { id, user_id: userId } = request.params;
    // Their sessions in this project end with the membership (UserService.removeMember).
    if (!(await users.removeMember(id, userId))) throw NotFound();
    await context.recordChange(request, 'admin.member.removed', { projectId: id, detail: { user_id: userId } });
    return reply.code(204).send();
  });

  const actions = [
    ['block', true, 'admin.member.blocked'],
    ['unblock', false, 'admin.member.unblocked'],
  ] as const;
  for (const [action, blocked, event] of actions) {
    server.post(`/admin/projects/:id/members/:user_id/${action}`, { schema: { params: MemberParams } }, async (request) => {
      const { id, user_id: userId } = request.params;
      // Sessions are kept on purpose: their refresh tokens answer "Account blocked" while
      // the block lasts and work again after an unblock.
      if (!(await users.setBlocked(id, userId, blocked))) throw NotFound();
      await context.recordChange(request, event, { projectId: id, detail: { user_id: userId } });
      return memberOrNotFound(id, userId);
    });
  }
}
