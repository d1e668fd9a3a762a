// Signing keys, kept in the database so every instance signs with the same keys: a current
// key of each algorithm (ES256 on P-256, RS256 on RSA 2048), each project's tokens signed with
// the one it chose. Signing and verification go through node:crypto (several times faster than
// WebCrypto for ES256; verification in jwt-verify.ts).
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { JwtRefused, VerifyingKeySet, verifyingKeys, type JwtPayload, type JwtVerifyOptions } from './jwt-verify.ts';
import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from '../storage/schema.ts';
import type { Ids } from './random.ts';
import { isSealed, type SecretBox } from './sealed.ts';

/** The algorithms tokens are signed with; ES256 is the default. */
export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

export function isSigningAlg(value: unknown): value is SigningAlg {
  return value === 'ES256' || value === 'RS256';
}

/** RSA keys of this many bits (RFC 7518 §3.3 asks for 2048 or more). */
const RSA_MODULUS_BITS = 2048;

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** the base64url JOSE header for each typ, made once: signing is a hot path */
  headers: Map<string, string>;
}

/** The new key of each algorithm a rotation made, when they sign, and the keys it withdrew. */
export type RotatedKids = Record<SigningAlg, string> & { signs_from: number; withdrawn: string[] };

export interface RotateOptions {
  /** how long the new keys are published before they sign (pre-publication); 0: at once */
  signsInMs?: number;
  /** withdraw the keys that sign now (and any pending next key) at once: their tokens stop verifying */
  withdraw?: boolean;
}

/** A row of signing_keys, as read. */
type KeyRow = Selectable<Database['signing_keys']>;

function signsFrom(row: { created_at: number; signs_from: number | null }): number {
  return row.signs_from === null ? row.created_at : Number(row.signs_from);
}

function stateAt(row: { created_at: number; signs_from: number | null; retired_at: number | null }, now: number): KeyState {
  if (row.retired_at !== null && row.retired_at <= now) return 'retired';
  return signsFrom(row) > now ? 'next' : 'current';
}

interface PublicJwk extends JWK {
  kid: string;
}

/** next: published, signs later; current: signs; retired: signs no more, published for its overlap */
export type KeyState = 'next' | 'current' | 'retired';

export interface KeySummary {
  kid: string;
  alg: string;
  state: KeyState;
  created_at: number;
  /** when it starts (or started) signing (epoch ms) */
  signs_from: number;
  retired_at: number | null;
  /** the key new tokens are signed with */
  signing: boolean;
  /** in the JWKS now */
  published: boolean;
  /** when a retired key leaves the JWKS (epoch ms); null while it signs */
  unpublish_at: number | null;
}

/** Allowance for relying parties whose clocks run behind ours. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Unknown kids reload the keys at most this often, so forged kids cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 1000;

/**
 * How long a retired key stays in the JWKS: until every token it signed has expired. Access
 * and ID tokens share one lifetime, the longest of the instance default and every project's
 * override; another instance may go on signing with the old key until its next reload; and
 * relying parties' clocks may run behind.
 */
export async function retiredKeyOverlapMs(db: Kysely<Database>, defaultAccessTokenSeconds: number, reloadIntervalMs: number): Promise<number> {
  const row = await db
    .selectFrom('projects')
    .select((eb) => eb.fn.max('access_token_ttl_seconds').as('longest'))
    .executeTakeFirst();
  const longestSeconds = Math.max(defaultAccessTokenSeconds, Number(row?.longest ?? 0));
  return longestSeconds * 1000 + reloadIntervalMs + CLOCK_SKEW_MS;
}

/** A private key's row, bound into its ciphertext: a sealed key moved to another kid fails to open. */
function privateKeyRow(kid: string): string {
  return `signing_keys:${kid}`;
}

/**
 * Runs `work` while no other instance sharing the database runs it (database.withLock): the key
 * lock, under which instances take turns to create, rotate and check the schedule.
 */
export type KeyLock = <T>(work: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

interface LoadedKey {
  jwk: PublicJwk;
  retiredAt: number | null;
}

export class KeyRing {
  private signers: Partial<Record<SigningAlg, SigningKey>> = {};
  /** the loaded rows that sign now or will (current and next keys) */
  private candidates: KeyRow[] = [];
  /** when a next key starts signing or a current one stops (epoch ms): the signers are chosen again */
  private nextSwitch = Infinity;
  private loaded: LoadedKey[] = [];
  private publicKeys: PublicJwk[] = [];
  /** when the next retired key leaves the JWKS (epoch ms) */
  private nextDeparture = Infinity;
  private verifier: VerifyingKeySet | undefined;
  private overlapMs = 0;
  private reloading: Promise<void> | undefined;
  private lastUnknownKidReload = -Infinity;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    /** how long a retired key stays published (see retiredKeyOverlapMs) */
    private readonly retiredKeyOverlap: () => Promise<number>,
    /** seals private keys at rest when GATEHOUSE_SECRET_KEY is set */
    private readonly box: SecretBox,
    /** the key lock: `(work) => database.withLock('signing keys', work)` */
    private readonly lock: KeyLock,
  ) {}

  /**
   * Seals every private key still stored in plain text (gatehouse keys encrypt); idempotent.
   * Answers how many it sealed. Each row is replaced only if it still holds what was read.
   */
  async sealStored(): Promise<number> {
    if (!this.box.sealing) return 0;
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    let sealed = 0;
    for (const row of rows) {
      if (isSealed(row.private_jwk)) continue;
      const result = await this.db
        .updateTable('signing_keys')
        .set({ private_jwk: this.box.seal(row.private_jwk, privateKeyRow(row.kid)) })
        .where('kid', '=', row.kid)
        .where('private_jwk', '=', row.private_jwk)
        .executeTakeFirst();
      sealed += Number(result.numUpdatedRows);
    }
    return sealed;
  }

  /** Loads the keys, creating the first signing key if the database has none. */
  async load(): Promise<void> {
    this.overlapMs = await this.retiredKeyOverlap();
    let rows = await this.activeRows();
    if (rows.length === 0) {
      // Instances starting together take turns under the key lock, so the second one sees the
      // first one's key and creates none.
      await this.locked(async (trx) => {
        if ((await this.activeRows(trx)).length === 0) await this.insertNewKey(trx);
      });
      rows = await this.activeRows();
    }
    const missing = SIGNING_ALGS.filter((alg) => !rows.some((r) => r.alg === alg && r.retired_at === null));
    if (missing.length > 0) {
      // A database from before RS256 (or a first start): the missing algorithms get their key,
      // under the same lock, so that instances starting together make one each.
      await this.locked(async (trx) => {
        const active = await this.activeRows(trx);
        for (const alg of missing) {
          if (!active.some((r) => r.alg === alg && r.retired_at === null)) await this.insertNewKey(trx, alg);
        }
      });
      rows = await this.activeRows();
    }
    this.install(rows);
  }

  /**
   * Makes a new key of each algorithm the signer and retires the current ones, which stay
   * published for the overlap. Keys retired longer ago than that are deleted: nothing they
   * signed is still valid.
   */
  async rotate(options: RotateOptions = {}): Promise<RotatedKids> {
    const now = this.clock.now();
    const from = now + (options.withdraw ? 0 : (options.signsInMs ?? 0));
    const overlapMs = await this.retiredKeyOverlap();
    const kids = await this.locked((trx) => this.rotateIn(trx, now, from, overlapMs, options.withdraw === true));
    await this.load();
    return kids;
  }

  /**
   * The schedule (GATEHOUSE_KEY_ROTATION_DAYS): rotates, with pre-publication, when the newest
   * key is `maxAgeMs` old. Every instance asks; the key lock makes them take turns, and the
   * first one's new keys make the others find nothing due, so exactly one rotates.
   */
  async rotateIfDue(maxAgeMs: number, signsInMs: number): Promise<RotatedKids | undefined> {
    const now = this.clock.now();
    const overlapMs = await this.retiredKeyOverlap();
    const kids = await this.locked(async (trx) => {
      const row = await trx
        .selectFrom('signing_keys')
        .select((eb) => eb.fn.max('created_at').as('newest'))
        .executeTakeFirst();
      const newest = row?.newest;
      if (newest !== null && newest !== undefined && now - Number(newest) < maxAgeMs) return undefined;
      return this.rotateIn(trx, now, now + signsInMs, overlapMs, false);
    });
    if (kids) await this.load();
    return kids;
  }

  /** A rotation, inside a transaction under the key lock. */
  private async rotateIn(trx: Kysely<Database>, now: number, from: number, overlapMs: number, withdraw: boolean): Promise<RotatedKids> {
    await trx.deleteFrom('signing_keys').where('retired_at', '<=', now - overlapMs).execute();
    const withdrawn: string[] = [];
    if (withdraw) {
      // A leaked key: the keys that sign now and any pending next key leave the JWKS at once.
      const rows = await trx
        .selectFrom('signing_keys')
        .select('kid')
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now)]))
        .execute();
      withdrawn.push(...rows.map((r) => r.kid));
      await trx
        .deleteFrom('signing_keys')
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now)]))
        .execute();
    } else {
      // A pending next key never signed anything: the new one replaces it.
      await trx.deleteFrom('signing_keys').where('retired_at', 'is', null).where('signs_from', '>', now).execute();
      await trx
        .updateTable('signing_keys')
        .set({ retired_at: from })
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now)]))
        .execute();
    }
    return { ES256: await this.insertNewKey(trx, 'ES256', from), RS256: await this.insertNewKey(trx, 'RS256', from), signs_from: from, withdrawn };
  }

  async list(): Promise<KeySummary[]> {
    const overlapMs = await this.retiredKeyOverlap();
    const now = this.clock.now();
    const rows = await this.db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'created_at', 'retired_at', 'signs_from'])
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .execute();
    const oldestFirst = [...rows].reverse();
    const signing = new Set(SIGNING_ALGS.map((alg) => oldestFirst.find((r) => r.alg === alg && stateAt(r, now) === 'current')?.kid));
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      state: stateAt(r, now),
      created_at: r.created_at,
      signs_from: signsFrom(r),
      retired_at: r.retired_at,
      signing: signing.has(r.kid),
      published: r.retired_at === null || r.retired_at + overlapMs > now,
      unpublish_at: r.retired_at === null ? null : r.retired_at + overlapMs,
    }));
  }

  /** The kid of the ES256 key that signs now. */
  get kid(): string {
    return this.current(DEFAULT_SIGNING_ALG).kid;
  }

  /** The kid of the key that signs with `alg` now. */
  signingKid(alg: SigningAlg): string {
    return this.current(alg).kid;
  }

  /** The published keys: the signer and the retired keys still inside their overlap. */
  jwks(): { keys: PublicJwk[] } {
    if (this.clock.now() >= this.nextDeparture) this.publish();
    return { keys: this.publicKeys };
  }

  /**
   * Signs a JWT with the current key, on the event loop. Signing on libuv's thread pool (node:crypto
   * with a callback) was tried: on two shared cores it gained nothing measurable alone, and beside
   * password hashing, which uses the same pool, refresh kept only about half its throughput.
   */
  signJwt(payload: Record<string, unknown>, typ = 'JWT', alg: SigningAlg = DEFAULT_SIGNING_ALG): string {
    const key = this.current(alg);
    let header = key.headers.get(typ);
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg, typ, kid: key.kid })).toString('base64url');
      key.headers.set(typ, header);
    }
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const input = `${header}.${body}`;
    // ES256 signatures are the JOSE r||s form; RS256 is RSASSA-PKCS1-v1_5, node's default for RSA keys.
    const signature = alg === 'ES256' ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  /** Verifies a JWT signed by one of the published keys; reloads once on an unknown kid. */
  async verifyJwt(token: string, options: JwtVerifyOptions): Promise<JwtPayload> {
    const opts: JwtVerifyOptions = { currentDate: new Date(this.clock.now()), ...options };
    try {
      return this.verifierSet().verify(token, opts);
    } catch (error) {
      if (!(error instanceof JwtRefused) || error.reason !== 'unknown_kid') throw error;
      // Another instance may have rotated; a kid nobody made costs one reload per second at most.
      const now = Date.now();
      if (now - this.lastUnknownKidReload < UNKNOWN_KID_RELOAD_MS) throw error;
      this.lastUnknownKidReload = now;
      await this.reload();
      return this.verifierSet().verify(token, opts);
    }
  }

  /**
   * Re-reads the keys, so that a rotation made by another instance (or the command line) changes
   * the signer here too (the `signing key reload` job of src/jobs.ts). One load at a time:
   * callers arriving while one runs share it.
   */
  reload(): Promise<void> {
    this.reloading ??= this.load().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private verifierSet(): VerifyingKeySet {
    const { keys } = this.jwks();
    this.verifier ??= new VerifyingKeySet(verifyingKeys(keys));
    return this.verifier;
  }

  private current(alg: SigningAlg): SigningKey {
    // A pre-published key starts signing at its time on every instance, by the clock alone.
    if (this.nextSwitch !== Infinity && this.clock.now() >= this.nextSwitch) this.chooseSigners();
    const signer = this.signers[alg];
    if (!signer) throw new Error('signing keys not loaded');
    return signer;
  }

  /**
   * One transaction under the key lock. On PostgreSQL the lock is an advisory lock, and the
   * transaction runs on the connection that holds it; on SQLite, where one process has the file,
   * the transaction's write lock is what serialises writers.
   */
  private locked<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.lock((db) => db.transaction().execute(work));
  }

  private async activeRows(db: Kysely<Database> = this.db) {
    const cutoff = this.clock.now() - this.overlapMs;
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', cutoff)]))
      .orderBy('created_at', 'asc')
      .orderBy('kid', 'asc')
      .execute();
  }

  private install(rows: KeyRow[]): void {
    this.candidates = rows;
    this.chooseSigners();
    this.loaded = rows.map((r) => ({ jwk: JSON.parse(r.public_jwk) as PublicJwk, retiredAt: r.retired_at }));
    this.publish();
  }

  /** The signer of each algorithm as of now, and when that changes next. */
  private chooseSigners(): void {
    const now = this.clock.now();
    const rows = this.candidates;
    const signers: Partial<Record<SigningAlg, SigningKey>> = {};
    let nextSwitch = Infinity;
    for (const row of rows) {
      const from = signsFrom(row);
      if (from > now) nextSwitch = Math.min(nextSwitch, from);
      if (row.retired_at !== null && row.retired_at > now) nextSwitch = Math.min(nextSwitch, row.retired_at);
    }
    for (const alg of SIGNING_ALGS) {
      // Should two current keys of an algorithm ever exist, every instance signs with the oldest, so they agree.
      const ofAlg = rows.filter((r) => r.alg === alg);
      const signing = ofAlg.find((r) => stateAt(r, now) === 'current') ?? ofAlg.filter((r) => stateAt(r, now) !== 'next').pop() ?? ofAlg[0];
      if (!signing) throw new Error(`no ${alg} signing key`);
      const kept = this.signers[alg];
      signers[alg] =
        kept?.kid === signing.kid
          ? kept
          : {
              kid: signing.kid,
              privateKey: createPrivateKey({
                key: JSON.parse(this.box.open(signing.private_jwk, privateKeyRow(signing.kid), `The private signing key ${signing.kid}`)) as JWK & { kty: string },
                format: 'jwk',
              }),
              headers: new Map(),
            };
    }
    this.signers = signers;
    this.nextSwitch = nextSwitch;
  }

  /**
   * Recomputes the JWKS from the loaded keys as of now. The array (and the verifier built on
   * it) is replaced only when the set of keys changes, so the JWKS route's cached body and the
   * verifier survive the periodic reloads.
   */
  private publish(): void {
    const now = this.clock.now();
    const keys = this.loaded.filter((k) => k.retiredAt === null || k.retiredAt + this.overlapMs > now);
    this.nextDeparture = Math.min(...keys.map((k) => (k.retiredAt === null ? Infinity : k.retiredAt + this.overlapMs)));
    const unchanged = keys.length === this.publicKeys.length && keys.every((k, i) => k.jwk.kid === this.publicKeys[i]?.kid);
    if (unchanged) return;
    this.publicKeys = keys.map((k) => k.jwk);
    this.verifier = undefined;
  }

  private async insertNewKey(db: Kysely<Database> = this.db, alg: SigningAlg = DEFAULT_SIGNING_ALG, signsFromMs: number | null = null): Promise<string> {
    const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: RSA_MODULUS_BITS });
    const kid = this.ids.id();
    const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        alg,
        private_jwk: this.box.seal(JSON.stringify(privateKey.export({ format: 'jwk' })), privateKeyRow(kid)),
        public_jwk: JSON.stringify(publicJwk),
        created_at: this.clock.now(),
        retired_at: null,
        signs_from: signsFromMs,
      })
      .execute();
    return kid;
  }
}
