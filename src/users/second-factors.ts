// A person's second factors (mfa.md): one TOTP secret, their passkeys, and the recovery codes made
// with the first of them. Secrets are sealed at rest (crypto/sealed.ts), recovery codes kept only as
// SHA-256 hashes; a code is accepted once, of any number of racing requests, by a conditional
// UPDATE. The recovery codes go with the last factor.
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Ids } from '../crypto/random.ts';
import type { SecretBox } from '../crypto/sealed.ts';
import { sha256 } from '../crypto/tokens.ts';
import { base32Decode, base32Encode, matchingStep, TOTP_SECRET_BYTES } from '../login/mfa/totp.ts';
import type { Database } from '../storage/schema.ts';

export const RECOVERY_CODE_COUNT = 10;
/** 10 base32 characters: 50 bits, shown as two groups of five. */
const RECOVERY_CODE_CHARS = 10;
const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** The methods of the second step a person has, in the order the page offers them. */
export type SecondStepMethod = 'totp' | 'passkey' | 'recovery_code';

export interface SecondFactorSummary {
  totp: boolean;
  passkeys: number;
  recovery_codes_left: number;
}

/** A passkey as registration verified it (login/passkey/webauthn.ts). */
export interface NewPasskey {
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  name: string;
}

export interface PendingTotp {
  /** the base32 text of the secret, for typing into an app */
  secret: string;
}

/** What people type: lower case, without the dash and spaces a code is shown or typed with. */
function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

function rowName(id: string): string {
  return `second_factors:${id}`;
}

export class SecondFactors {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly box: SecretBox,
    private readonly randomBytes: (size: number) => Buffer = cryptoRandomBytes,
  ) {}

  /** Whether the person has a factor that asks for a second step, and how many recovery codes are left. */
  async summary(userId: string): Promise<SecondFactorSummary> {
    const [totp, passkeys, codes] = await Promise.all([
      this.db.selectFrom('second_factors').select('id').where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is not', null).executeTakeFirst(),
      this.db.selectFrom('passkeys').select((eb) => eb.fn.countAll<string | number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow(),
      this.db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<string | number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow(),
    ]);
    return { totp: totp !== undefined, passkeys: Number(passkeys.n), recovery_codes_left: Number(codes.n) };
  }

  /** Whether the person has any second factor (recovery codes alone are none). */
  static hasFactor(summary: SecondFactorSummary): boolean {
    return summary.totp || summary.passkeys > 0;
  }

  /** The second-step methods the person can use; empty when they have no second factor. */
  async methods(userId: string): Promise<SecondStepMethod[]> {
    const summary = await this.summary(userId);
    // Recovery codes stand in for a factor; without one they are not a second step of their own.
    if (!SecondFactors.hasFactor(summary)) return [];
    const methods: SecondStepMethod[] = [];
    if (summary.totp) methods.push('totp');
    if (summary.passkeys > 0) methods.push('passkey');
    if (summary.recovery_codes_left > 0) methods.push('recovery_code');
    return methods;
  }

  /**
   * A new TOTP secret waiting for its first valid code. It replaces a waiting one, never a
   * confirmed one: a confirmed TOTP is removed first (with a code).
   */
  async beginTotp(userId: string): Promise<PendingTotp> {
    const secret = base32Encode(this.randomBytes(TOTP_SECRET_BYTES));
    const id = this.ids.id();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('second_factors').where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is', null).execute();
      await trx
        .insertInto('second_factors')
        .values({ id, user_id: userId, kind: 'totp', secret_sealed: this.box.seal(secret, rowName(id)), created_at: this.clock.now(), confirmed_at: null, last_step: null })
        .execute();
    });
    return { secret };
  }

  /** The waiting secret's text (to show the QR code again), if there is one. */
  async pendingTotp(userId: string): Promise<PendingTotp | undefined> {
    const row = await this.db.selectFrom('second_factors').selectAll().where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is', null).executeTakeFirst();
    return row && { secret: this.box.open(row.secret_sealed, rowName(row.id), 'a TOTP secret') };
  }

  /**
   * The first valid code of the waiting secret makes it count. The first factor also brings the
   * recovery codes, answered here once (undefined: the person already had codes). False: no
   * waiting secret, or a wrong code.
   */
  async confirmTotp(userId: string, code: string): Promise<{ recoveryCodes: string[] | undefined } | false> {
    const row = await this.db.selectFrom('second_factors').selectAll().where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is', null).executeTakeFirst();
    if (!row) return false;
    const now = this.clock.now();
    const step = matchingStep(base32Decode(this.box.open(row.secret_sealed, rowName(row.id), 'a TOTP secret')), code.trim(), now, null);
    if (step === undefined) return false;
    return this.db.transaction().execute(async (trx) => {
      const confirmed = await trx.updateTable('second_factors').set({ confirmed_at: now, last_step: step }).where('id', '=', row.id).where('confirmed_at', 'is', null).executeTakeFirst();
      if (Number(confirmed.numUpdatedRows) !== 1) return false as const;
      return { recoveryCodes: await this.firstFactorCodes(trx, userId) };
    });
  }

  /** The recovery codes a first factor brings, once: undefined when the person already has live codes. */
  private async firstFactorCodes(trx: Kysely<Database>, userId: string): Promise<string[] | undefined> {
    const existing = await trx.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirst();
    return existing ? undefined : this.writeRecoveryCodes(trx, userId);
  }

  /**
   * A passkey whose registration was verified joins the person's factors. As the first factor it
   * brings the recovery codes, answered here once (undefined: the person already had codes).
   * False: the credential id is already registered (to anyone).
   */
  async addPasskey(userId: string, passkey: NewPasskey): Promise<{ recoveryCodes: string[] | undefined } | false> {
    return this.db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('passkeys')
        .values({
          id: passkey.credentialId,
          user_id: userId,
          public_key: passkey.publicKey,
          sign_count: passkey.signCount,
          transports: JSON.stringify(passkey.transports),
          name: passkey.name,
          created_at: this.clock.now(),
          last_used_at: null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return false as const;
      return { recoveryCodes: await this.firstFactorCodes(trx, userId) };
    });
  }

  /** Removes one passkey of the person's; the recovery codes go with the last factor. Answers whether it was there. */
  async removePasskey(userId: string, credentialId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await trx.deleteFrom('passkeys').where('id', '=', credentialId).where('user_id', '=', userId).executeTakeFirst();
      if (Number(removed.numDeletedRows) === 0) return false;
      await this.dropCodesWithoutFactor(trx, userId);
      return true;
    });
  }

  /** The recovery codes stand in for a factor: with none left, they end. */
  private async dropCodesWithoutFactor(trx: Kysely<Database>, userId: string): Promise<void> {
    const totp = await trx.selectFrom('second_factors').select('id').where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is not', null).executeTakeFirst();
    const passkey = await trx.selectFrom('passkeys').select('id').where('user_id', '=', userId).executeTakeFirst();
    if (!totp && !passkey) await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  }

  /**
   * A current code of the person's confirmed TOTP. Accepted once: the step it matched is stored
   * only if it is later than the last accepted one, in one UPDATE, so of two requests with the
   * same code exactly one wins.
   */
  async verifyTotp(userId: string, code: string): Promise<boolean> {
    const row = await this.db.selectFrom('second_factors').selectAll().where('user_id', '=', userId).where('kind', '=', 'totp').where('confirmed_at', 'is not', null).executeTakeFirst();
    if (!row) return false;
    const step = matchingStep(base32Decode(this.box.open(row.secret_sealed, rowName(row.id), 'a TOTP secret')), code.trim(), this.clock.now(), row.last_step);
    if (step === undefined) return false;
    const taken = await this.db
      .updateTable('second_factors')
      .set({ last_step: step })
      .where('id', '=', row.id)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  /** Uses one recovery code up; of racing requests with the same code exactly one gets true. */
  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    const normalized = normalizeRecoveryCode(code);
    if (normalized.length !== RECOVERY_CODE_CHARS) return false;
    const used = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: this.clock.now() })
      .where('code_hash', '=', sha256(normalized))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(used.numUpdatedRows) === 1;
  }

  /** A code of the person's TOTP or one of their recovery codes: what removing a factor asks for. */
  async verifyAny(userId: string, code: string): Promise<'totp' | 'recovery_code' | undefined> {
    if (await this.verifyTotp(userId, code)) return 'totp';
    if (await this.useRecoveryCode(userId, code)) return 'recovery_code';
    return undefined;
  }

  /** "Make new codes": the old ones end, ten new ones are answered once. */
  async newRecoveryCodes(userId: string): Promise<string[]> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      return this.writeRecoveryCodes(trx, userId);
    });
  }

  /** Removes the TOTP factor; the recovery codes go with the last factor. */
  async removeTotp(userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('second_factors').where('user_id', '=', userId).where('kind', '=', 'totp').execute();
      await this.dropCodesWithoutFactor(trx, userId);
    });
  }

  /** Every second factor of the person (passkeys too) and their recovery codes (the admin reset). */
  async removeAll(userId: string, db: Kysely<Database> = this.db): Promise<boolean> {
    const factors = await db.deleteFrom('second_factors').where('user_id', '=', userId).executeTakeFirst();
    const passkeys = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
    const codes = await db.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst();
    return Number(factors.numDeletedRows) + Number(passkeys.numDeletedRows) + Number(codes.numDeletedRows) > 0;
  }

  private async writeRecoveryCodes(db: Kysely<Database>, userId: string): Promise<string[]> {
    const now = this.clock.now();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => this.recoveryCode());
    await db
      .insertInto('recovery_codes')
      .values(codes.map((code) => ({ code_hash: sha256(normalizeRecoveryCode(code)), user_id: userId, created_at: now, used_at: null })))
      .execute();
    return codes;
  }

  private recoveryCode(): string {
    // 32 symbols: each byte's low five bits are uniform.
    const chars = [...this.randomBytes(RECOVERY_CODE_CHARS)].map((byte) => RECOVERY_ALPHABET[byte & 31]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  }
}
