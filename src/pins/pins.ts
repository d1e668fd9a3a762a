// Shared PINs of a project: generated here from a CSPRNG, shown once, stored as an HMAC under
// a server-side key so that a login is one indexed lookup and a stolen table is not a PIN list.
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { hmacSha256 } from '../crypto/tokens.ts';
import { InvalidRequest, MaxActivePins, NotFound } from '../errors.ts';
import type { Database } from '../storage/schema.ts';
import type { Ids } from '../crypto/random.ts';
import { SessionEndings } from '../sessions/session-endings.ts';
import { after, allPages, toPage, type Page, type PageRequest } from '../storage/paging.ts';

export const MAX_ACTIVE_PINS = 10;
export const MAX_PIN_LABEL_LENGTH = 100;

/**
 * A PIN's label, a note for people ("kiosk, front desk"): none when absent, null or empty;
 * otherwise a string of at most MAX_PIN_LABEL_LENGTH characters, counted in code points.
 */
export function pinLabel(label: unknown): string | null {
  if (label === undefined || label === null || label === '') return null;
  if (typeof label !== 'string' || [...label].length > MAX_PIN_LABEL_LENGTH) {
    throw InvalidRequest({ detail: `label must be a string of at most ${MAX_PIN_LABEL_LENGTH} characters` });
  }
  return label;
}

interface PinSummary {
  id: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface CreatedPin {
  id: string;
  pin: string;
  label: string | null;
}

export class PinService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly key: Buffer,
    private readonly digits: number,
    /** how sessions end, and what goes with it (a back-channel logout) */
    private readonly endings: SessionEndings = new SessionEndings(db, clock),
  ) {}

  private hash(projectId: string, pin: string): string {
    return hmacSha256(this.key, `${projectId}:${pin}`);
  }

  private generate(): string {
    let pin = '';
    for (let i = 0; i < this.digits; i++) pin += String(randomInt(10));
    return pin;
  }

  /** Active (unrevoked) PINs of a project; `db` may be a transaction. */
  async activePinCount(projectId: string, db: Kysely<Database> = this.db): Promise<number> {
    const row = await db
      .selectFrom('pins')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Creates a PIN with a label checked by pinLabel. Throws NotFound when the project does not
   * exist and MaxActivePins when it already has the maximum of active PINs.
   */
  async create(projectId: string, label?: unknown): Promise<CreatedPin> {
    const checkedLabel = pinLabel(label);
    return this.db.transaction().execute(async (trx) => {
      // A no-op write to the project row locks it until commit (PostgreSQL; SQLite runs one
      // writer at a time anyway), so two concurrent creations cannot both see 9 active PINs
      // and make 11. It also tells whether the project still exists.
      const locked = await trx
        .updateTable('projects')
        .set((eb) => ({ id: eb.ref('id') }))
        .where('id', '=', projectId)
        .executeTakeFirst();
      if (Number(locked.numUpdatedRows) === 0) throw NotFound();
      if ((await this.activePinCount(projectId, trx)) >= MAX_ACTIVE_PINS) throw MaxActivePins();
      // A PIN equal to one this project already had (active or revoked) is drawn again.
      for (;;) {
        const pin = this.generate();
        const id = this.ids.id();
        const inserted = await trx
          .insertInto('pins')
          .values({ id, project_id: projectId, label: checkedLabel, pin_hash: this.hash(projectId, pin), created_at: this.clock.now(), revoked_at: null })
          .onConflict((oc) => oc.column('pin_hash').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { id, pin, label: checkedLabel };
      }
    });
  }

  /** Every PIN of a project (revoked ones too), in the order they were created. */
  list(projectId: string): Promise<PinSummary[]> {
    return allPages((page) => this.listPage(projectId, page));
  }

  /** A project's PINs (revoked ones too) in the order they were created, a page at a time. */
  async listPage(projectId: string, page: PageRequest): Promise<Page<PinSummary>> {
    let query = this.db.selectFrom('pins').selectAll().where('project_id', '=', projectId);
    if (page.after) query = query.where(after('created_at', 'id', 'asc', page.after));
    const rows = await query.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.id }), (r) => ({
      id: r.id,
      label: r.label,
      created_at: new Date(r.created_at).toISOString(),
      revoked_at: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
    }));
  }

  /**
   * Revokes a PIN of this project. Its sessions stay on record so that their refresh tokens
   * answer "PIN revoked" rather than "Invalid refresh token". Answers false when it was revoked
   * already; throws NotFound when the project has no PIN with this id.
   */
  async revoke(projectId: string, pinId: string): Promise<boolean> {
    // The apps of its sessions are told in the same transaction (back-channel logout).
    const revoked = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('pins')
        .set({ revoked_at: this.clock.now() })
        .where('id', '=', pinId)
        .where('project_id', '=', projectId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await this.endings.tellIn(trx, { projectId, pinId });
      return true;
    });
    if (revoked) {
      this.endings.committed();
      return true;
    }
    const existing = await this.db.selectFrom('pins').select('id').where('id', '=', pinId).where('project_id', '=', projectId).executeTakeFirst();
    if (!existing) throw NotFound();
    return false;
  }

  /** True when the value has the shape of a PIN of this instance: exactly `digits` ASCII digits. */
  private isWellFormed(pin: unknown): pin is string {
    return typeof pin === 'string' && pin.length === this.digits && /^[0-9]+$/.test(pin);
  }

  /**
   * The active PIN of this project with this value, in one indexed lookup of its HMAC.
   * Anything that is not a well-formed PIN matches nothing. The index probe sees only the
   * keyed hash, so its timing says nothing about how close a guess was.
   */
  async findActive(projectId: string, pin: unknown): Promise<string | undefined> {
    if (!this.isWellFormed(pin)) return undefined;
    const row = await this.db
      .selectFrom('pins')
      .select('id')
      .where('pin_hash', '=', this.hash(projectId, pin))
      .where('project_id', '=', projectId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row?.id;
  }
}
