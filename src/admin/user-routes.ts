// /admin/users: accounts, their passwords and the admin flag.
import { NotFound } from '../errors.ts';
import { accountWithFactors, changeAccount, checkNewAccount, deleteAccount } from '../users/account-changes.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, NewUserBody, UserChangesBody, UserQuery } from './schemas.ts';
import { pagedAnswer, pageRequest } from './paging.ts';

export function registerUserRoutes(server: AdminServer, context: AdminContext): void {
  const { users, secondFactors } = context.services;

  server.get('/admin/users', { schema: { querystring: UserQuery } }, async (request) =>
    pagedAnswer('users', await users.listPage(pageRequest(request.query), request.query.email)),
  );

  server.post('/admin/users', { schema: { body: NewUserBody } }, async (request, reply) => {
    const user = await users.create(checkNewAccount(request.body));
    await context.recordChange(request, 'admin.user.created', { detail: { user_id: user.id, is_admin: user.is_admin } });
    return reply.code(201).send(user);
  });

  server.get('/admin/users/:id', { schema: { params: IdParams } }, async (request) => {
    const account = await accountWithFactors(context.services, request.params.id);
    if (!account) throw NotFound();
    return account;
  });

  // mfa.md: every second factor of the person goes (a lost phone); where a project requires one,
  // they are led through adding one again at their next sign-in.
  server.delete('/admin/users/:id/mfa', { schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    if (!(await users.find(id))) throw NotFound();
    const removed = await secondFactors.removeAll(id);
    await context.recordChange(request, 'mfa.reset_by_admin', { detail: { user_id: id, removed } });
    return reply.code(204).send();
  });

  server.patch('/admin/users/:id', { schema: { params: IdParams, body: UserChangesBody } }, async (request) => {
    const { id } = request.params;
    const user = await changeAccount(context.services, id, request.body);
    if (!user) throw NotFound();
    // Field names only: a new password never reaches the log.
    await context.recordChange(request, 'admin.user.updated', { detail: { user_id: id, fields: Object.keys(request.body) } });
    return user;
  });

  server.delete('/admin/users/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    if (!(await deleteAccount(context.services, id))) throw NotFound();
    await context.recordChange(request, 'admin.user.deleted', { detail: { user_id: id } });
    return reply.code(204).send();
  });
}
