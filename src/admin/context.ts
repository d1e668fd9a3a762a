// What every admin route shares: the typed Fastify instance, the admin (or service) behind the request
// (set by the guard hook in routes.ts) and the audit record of each change they make.
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuditEventType } from '../audit/events.ts';
import { clientInfo } from '../http/negotiation.ts';
import type { Services } from '../services.ts';

export type AdminServer = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Who makes an admin request: an admin's user id, or `client:<project id>` for a service (docs/machines.md). */
export interface AdminActor {
  subject: string;
}

export class AdminContext {
  private readonly admins = new WeakMap<FastifyRequest, AdminActor>();

  constructor(readonly services: Services) {}

  admitted(request: FastifyRequest, admin: AdminActor): void {
    this.admins.set(request, admin);
  }

  /** The admin or service making this request; the guard hook has already checked them. */
  actor(request: FastifyRequest): AdminActor {
    const admin = this.admins.get(request);
    if (!admin) throw new Error('admin route reached without the guard');
    return admin;
  }

  /** Records one admin change: who (the admin), what, where from, and on which project. */
  async recordChange(
    request: FastifyRequest,
    type: AuditEventType,
    facts: { projectId?: string; detail?: Record<string, unknown> } = {},
  ): Promise<void> {
    const { ip, userAgent } = clientInfo(request);
    await this.services.audit.record({
      type,
      outcome: 'success',
      subject: this.actor(request).subject,
      projectId: facts.projectId ?? null,
      ip,
      userAgent,
      ...(facts.detail ? { detail: facts.detail } : {}),
    });
  }
}
