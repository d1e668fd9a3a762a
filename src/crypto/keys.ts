// ES256 signing keys, kept in the database so every instance signs with the same key.
// Signing goes through node:crypto (several times faster than WebCrypto for ES256);
// verification and the JWKS go through jose.
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Kysely } from 'kysely';
import type { Clock, Ids } from '../clock.ts';
import type { Database } from '../storage/schema.ts';

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

export interface PublicJwk extends JWK {
  kid: string;
}

export class KeyRing {
  private signer: SigningKey | undefined;
  private publicKeys: PublicJwk[] = [];
  private verifier: ReturnType<typeof createLocalJWKSet> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    /** how long a retired key stays published: the longest token lifetime */
    private readonly retiredKeyOverlapMs: () => number,
  ) {}

  /** Loads the keys, creating the first signing key if the database has none. */
  async load(): Promise<void> {
    let rows = await this.activeRows();
    if (rows.length === 0) {
      await this.db.transaction().execute(async (trx) => {
        // Instances starting together take turns: writing the lock row holds its row lock
        // (PostgreSQL) or the write lock (SQLite) until commit, so the second one sees the
        // first one's key and creates none.
        await this.takeKeyLock(trx);
        if ((await this.activeRows(trx)).length === 0) await this.insertNewKey(trx);
      });
      rows = await this.activeRows();
    }
    this.install(rows);
  }

  /** Makes a new key the signer and retires the current one (it stays published for the overlap). */
  async rotate(): Promise<string> {
    const now = this.clock.now();
    const kid = await this.db.transaction().execute(async (trx) => {
      await this.takeKeyLock(trx);
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      return this.insertNewKey(trx);
    });
    await this.load();
    return kid;
  }

  async list(): Promise<Array<{ kid: string; created_at: number; retired_at: number | null; published: boolean }>> {
    const cutoff = this.clock.now() - this.retiredKeyOverlapMs();
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'created_at', 'retired_at']).orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({ ...r, published: r.retired_at === null || r.retired_at > cutoff }));
  }

  get kid(): string {
    return this.current().kid;
  }

  jwks(): { keys: PublicJwk[] } {
    return { keys: this.publicKeys };
  }

  /** Signs a JWT with the current key. */
  signJwt(payload: Record<string, unknown>, typ = 'JWT'): string {
    const key = this.current();
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ, kid: key.kid })).toString('base64url');
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const input = `${header}.${body}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }

  /** Verifies a JWT signed by one of the published keys; reloads once on an unknown kid. */
  async verifyJwt(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    const opts: JWTVerifyOptions = { algorithms: ['ES256'], currentDate: new Date(this.clock.now()), ...options };
    try {
      return (await jwtVerify(token, this.verifierSet(), opts)).payload;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      await this.load();
      return (await jwtVerify(token, this.verifierSet(), opts)).payload;
    }
  }

  private verifierSet(): ReturnType<typeof createLocalJWKSet> {
    this.verifier ??= createLocalJWKSet(this.jwks());
    return this.verifier;
  }

  private current(): SigningKey {
    if (!this.signer) throw new Error('signing keys not loaded');
    return this.signer;
  }

  private async takeKeyLock(trx: Kysely<Database>): Promise<void> {
    const now = this.clock.now();
    await trx
      .insertInto('instance_secrets')
      .values({ name: 'signing_keys_lock', value: String(now), created_at: now })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(now) }))
      .execute();
  }

  private async activeRows(db: Kysely<Database> = this.db) {
    const cutoff = this.clock.now() - this.retiredKeyOverlapMs();
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', cutoff)]))
      .orderBy('created_at', 'asc')
      .orderBy('kid', 'asc')
      .execute();
  }

  private install(rows: Array<{ kid: string; private_jwk: string; public_jwk: string; retired_at: number | null }>): void {
    // Should two unretired keys ever exist, every instance signs with the oldest, so they agree.
    const signing = rows.find((r) => r.retired_at === null) ?? rows[rows.length - 1];
    if (!signing) throw new Error('no signing key');
    this.signer = {
      kid: signing.kid,
      privateKey: createPrivateKey({ key: JSON.parse(signing.private_jwk) as JWK & { kty: string }, format: 'jwk' }),
    };
    this.publicKeys = rows.map((r) => JSON.parse(r.public_jwk) as PublicJwk);
    this.verifier = undefined;
  }

  private async insertNewKey(db: Kysely<Database> = this.db): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = this.ids.id();
    const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        alg: 'ES256',
        private_jwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
        public_jwk: JSON.stringify(publicJwk),
        created_at: this.clock.now(),
        retired_at: null,
      })
      .execute();
    return kid;
  }
}
