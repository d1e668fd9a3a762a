// /admin/users: accounts, their passwords and the admin flag.
import { InvalidRequest, NotFound } from '../errors.ts';
import { requireImportableHash } from '../crypto/foreign-hashes.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, NewUserBody, UserChangesBody, UserQuery } from './schemas.ts';
import { pagedAnswer, pageRequest } from './paging.ts';
import { normalizeEmail } from '../users/email.ts';
import { requireAcceptablePassword } from '../users/password-policy.ts';
import { requireValidEmail } from '../users/email.ts';
import { checkProfile } from '../users/profile.ts';

export function registerUserRoutes(server: AdminServer, context: AdminContext): void {
  const { users, sessions, browserSessions, secondFactors } = context.services;

  server.get('/admin/users', { schema: { querystring: UserQuery } }, async (request) =>
    pagedAnswer('users', await users.listPage(pageRequest(request.query), request.query.email)),
  );

  server.post('/admin/users', { schema: { body: NewUserBody } }, async (request, reply) => {
    const body = { ...request.body, email: requireValidEmail(request.body.email) };
    // Admin-set passwords meet the same policy as the ones people choose at registration.
    if (body.password !== undefined) requireAcceptablePassword(body.password);
    if (body.password_hash !== undefined) {
      if (body.password !== undefined) throw InvalidRequest({ detail: 'give password or password_hash, not both' });
      requireImportableHash(body.password_hash);
    }
    checkProfile(body);
    const user = await users.create(body);
    await context.recordChange(request, 'admin.user.created', { detail: { user_id: user.id, is_admin: user.is_admin } });
    return reply.code(201).send(user);
  });

  server.get('/admin/users/:id', { schema: { params: IdParams } }, async (request) => {
    const record = await users.find(request.params.id);
    if (!record) throw NotFound();
    // mfa.md: which second factors the person has.
    const { totp, passkeys, recovery_codes_left } = await secondFactors.summary(record.user.id);
    return { ...record.user, mfa: { totp, passkeys, recovery_codes_left } };
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
    const changes = { ...request.body };
    const { id } = request.params;
    if (changes.email !== undefined) changes.email = requireValidEmail(changes.email);
    if (changes.password !== undefined) requireAcceptablePassword(changes.password);
    checkProfile(changes);
    const current = await users.find(id);
    if (!current) throw NotFound();
    // A new address has not been proven to reach anyone yet, unless the admin says so.
    if (changes.email !== undefined && changes.email_verified === undefined && normalizeEmail(changes.email) !== normalizeEmail(current.user.email)) {
      changes.email_verified = false;
    }
    const user = await users.update(id, changes);
    if (!user) throw NotFound();
    // A password set by an admin replaces whatever someone else knew: every session of the
    // account ends, so nobody stays signed in on the strength of the old one.
    if (changes.password !== undefined) {
      await sessions.revokeWhere({ userId: id });
      await browserSessions.endForUser(id);
    }
    // Field names only: a new password never reaches the log.
    await context.recordChange(request, 'admin.user.updated', { detail: { user_id: id, fields: Object.keys(request.body) } });
    return user;
  });

  // The account and its memberships go; its sessions stay, so that their refresh tokens
  // answer "User not found" (SPEC, POST /token).
  server.delete('/admin/users/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    if (!(await users.delete(id))) throw NotFound();
    // A deleted account is signed in nowhere: its browser sessions end (docs/sso.md).
    await browserSessions.endForUser(id);
    await context.recordChange(request, 'admin.user.deleted', { detail: { user_id: id } });
    return reply.code(204).send();
  });
}
