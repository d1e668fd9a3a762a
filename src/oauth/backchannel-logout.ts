// OpenID Connect Back-Channel Logout 1.0 (docs/backchannel-logout.md, machines.md): when a
// session of a project with a `backchannel_logout_uri` ends, or its member is blocked, its PIN
// revoked or its user deleted, the project's app is POSTed a logout token. The token is queued in
// the ending's own transaction (sessions/session-endings.ts calls `ended`) as a delivery of the
// webhooks' outbox, of its own kind, and sent by the same deliverer with the same claims, lease
// and retries. It is signed at each try (docs/decisions/0135-logout-tokens-signed-at-each-try.md),
// so a retry hours later still verifies within its two minutes.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { KeyRing, SigningAlg } from '../crypto/keys.ts';
import type { Ids } from '../crypto/random.ts';
import { SealedSecretError, type SecretBox } from '../crypto/sealed.ts';
import type { ProjectService } from '../projects/projects.ts';
import type { EndedSession, SessionEndListener } from '../sessions/session-endings.ts';
import { sealedSidRow } from '../sessions/sessions.ts';
import type { Database, DeliveryKind } from '../storage/schema.ts';
import type { Deliverer, DeliveryRow, Outbox, TryOutcome } from '../webhooks/outbox.ts';
import { postOnce } from '../webhooks/post.ts';

/** The outbox kind of a logout token's delivery. */
export const LOGOUT_DELIVERY: DeliveryKind = 'backchannel_logout';
/** The `events` member a logout token carries (Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** A logout token is good for this long after it is sent. */
export const LOGOUT_TOKEN_SECONDS = 120;
/** The most rows one insert writes (a user with many sessions is queued in several). */
const INSERT_CHUNK = 200;

/** What a queued logout is made of; the token itself is made at each try. */
interface LogoutPayload {
  /** the session's `sub`, as its ID token has it (a user's id, or `pin:<id>`) */
  sub: string;
  /** the session's sid, sealed as its row keeps it (opened at send time only); null for a session from before sids were sealed */
  sid_sealed: string | null;
}

/** A logout delivery's id: one per session, so that endings of a session close together tell its app once. */
export function logoutDeliveryId(sessionKey: string): string {
  return `logout:${sessionKey}`;
}

export class BackchannelLogout implements SessionEndListener {
  constructor(
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly issuer: string,
    private readonly keys: KeyRing,
    private readonly projects: ProjectService,
    /** opens the sealed sids (sessions/sid-key.ts) */
    private readonly sidBox: SecretBox,
    private readonly outbox: Outbox,
    private readonly deliverer: Deliverer,
    private readonly options: { timeoutMs: number },
  ) {
    deliverer.handle(LOGOUT_DELIVERY, (row) => this.send(row));
  }

  /**
   * Queues, in the ending's transaction, a logout for each session whose project has a
   * `backchannel_logout_uri` (read in the same transaction: a URI set a moment ago on another
   * instance counts). A session whose logout is still pending is not queued twice.
   */
  async ended(trx: Kysely<Database>, sessions: EndedSession[]): Promise<void> {
    const projectIds = [...new Set(sessions.map((s) => s.project_id))];
    const listening = await trx.selectFrom('projects').select('id').where('id', 'in', projectIds).where('backchannel_logout_uri', 'is not', null).execute();
    if (listening.length === 0) return;
    const told = new Set(listening.map((p) => p.id));
    const now = this.clock.now();
    const rows = sessions
      .filter((s) => told.has(s.project_id))
      .map((s) => ({
        id: logoutDeliveryId(s.id),
        kind: LOGOUT_DELIVERY,
        webhook_id: s.project_id,
        event_id: s.id,
        event_type: LOGOUT_DELIVERY,
        payload: JSON.stringify({ sub: s.subject, sid_sealed: s.sid_sealed } satisfies LogoutPayload),
        attempt: 0,
        status: 'pending' as const,
        next_attempt_at: now,
        created_at: now,
      }));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await trx
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + INSERT_CHUNK))
        // Told already: a logout still pending is the same news; one settled is sent again (a
        // member blocked, unblocked and blocked again is told at each block).
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({
              payload: (eb) => eb.ref('excluded.payload'),
              attempt: 0,
              status: 'pending',
              next_attempt_at: now,
              claimed_until: null,
              last_status: null,
              last_error: null,
              last_duration_ms: null,
              created_at: now,
              delivered_at: null,
            })
            .where('webhook_deliveries.status', '!=', 'pending'),
        )
        .execute();
    }
  }

  /** An ending committed: the deliverer sends its logouts now rather than at the next tick. */
  committed(): void {
    this.outbox.recorded();
  }

  /** Sends every delivery due now, of every kind (tests call it after moving the clock). */
  deliverDue(): Promise<number> {
    return this.deliverer.deliverDue();
  }

  /** The logout token of a delivery, signed now with the project's algorithm and current key. */
  logoutToken(row: DeliveryRow, projectId: string, alg: SigningAlg): string {
    const payload = JSON.parse(row.payload) as LogoutPayload;
    const sid = this.openSid(row.event_id, payload.sid_sealed);
    const iat = Math.floor(this.clock.now() / 1000);
    return this.keys.signJwt(
      {
        iss: this.issuer,
        aud: projectId,
        iat,
        exp: iat + LOGOUT_TOKEN_SECONDS,
        jti: this.ids.id(),
        sub: payload.sub,
        ...(sid !== undefined ? { sid } : {}),
        events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
      },
      'logout+jwt',
      alg,
    );
  }

  /** One try: the project as it is now (its URI, its algorithm), a token made now, POSTed as a form. */
  private async send(row: DeliveryRow): Promise<TryOutcome> {
    const record = await this.projects.find(row.webhook_id);
    if (!record) return { ok: false, status: null, error: 'the project was deleted', durationMs: 0, giveUp: true };
    const { project } = record;
    if (project.backchannel_logout_uri === null) return { ok: false, status: null, error: 'the project no longer has a backchannel_logout_uri', durationMs: 0, giveUp: true };
    const token = this.logoutToken(row, project.id, project.token_signing_alg);
    return postOnce(project.backchannel_logout_uri, {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'user-agent': 'Gatehouse-Backchannel-Logout',
        'cache-control': 'no-store',
      },
      body: new URLSearchParams({ logout_token: token }).toString(),
      timeoutMs: this.options.timeoutMs,
    });
  }

  /** The sid of a session's sealed copy; none when it has none or it does not open (then `sub` alone names whom). */
  private openSid(sessionKey: string, sealed: string | null): string | undefined {
    if (sealed === null) return undefined;
    try {
      return this.sidBox.open(sealed, sealedSidRow(sessionKey), 'A session id');
    } catch (error) {
      if (error instanceof SealedSecretError) return undefined;
      throw error;
    }
  }
}
