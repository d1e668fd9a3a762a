// The audit side of a 429: the first refusal of each limit, key and address in a window is
// recorded; the rest of a flood is not (it would be one write per refused request, the very
// load the limit is there to shed).
import { RateLimited, type HttpError } from '../errors.ts';
import type { Limiter } from '../storage/rate-limits.ts';
import type { AuditLog } from './audit-log.ts';

interface RefusalFacts {
  ip: string;
  userAgent: string | null;
  projectId?: string | null;
  subject?: string | null;
}

/** Records the refusal when it is the window's first, and answers the 429 to throw. */
export async function rateLimited(audit: AuditLog, limiter: Limiter, key: string, facts: RefusalFacts): Promise<HttpError> {
  try {
    if (await limiter.firstRefusal(key, facts.ip)) {
      await audit.record({
        type: 'rate_limit.refused',
        outcome: 'failure',
        projectId: facts.projectId ?? null,
        subject: facts.subject ?? null,
        ip: facts.ip,
        userAgent: facts.userAgent,
        detail: { limit: limiter.name },
      });
    }
  } catch {
    // The refusal stands whether or not it could be recorded.
  }
  return RateLimited();
}
