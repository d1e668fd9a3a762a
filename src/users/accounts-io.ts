// Accounts in and out in bulk (machines.md "Moving accounts in and out", docs/accounts-import.md):
// one JSON object a line, read and written a batch at a time. A line is checked whole before
// anything is written; a batch is one transaction, so 20,000 accounts are a few dozen commits.
import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../clock.ts';
import { requireImportableHash } from '../crypto/foreign-hashes.ts';
import type { Ids } from '../crypto/random.ts';
import { HttpError } from '../errors.ts';
import type { Database } from '../storage/schema.ts';
import { normalizeEmail, plainEmail } from './email.ts';
import { checkProfile } from './profile.ts';

export interface AccountLine {
  email: string;
  password_hash?: string | null;
  name?: string | null;
  email_verified?: boolean;
  is_admin?: boolean;
  projects?: Array<{ id: string; blocked?: boolean }>;
}

export interface LineProblem {
  line: number;
  reason: string;
}

export interface ImportTally {
  created: number;
  updated: number;
  /** existing accounts left alone (no --update) */
  unchanged: number;
  problems: LineProblem[];
}

const FIELDS = new Set(['email', 'password_hash', 'name', 'email_verified', 'is_admin', 'projects']);
const MAX_LINE = 64 * 1024;
const MAX_PROJECTS = 1000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One line read and checked; a reason when it cannot be imported. */
export function parseAccountLine(text: string): AccountLine | { reason: string } {
  if (text.length > MAX_LINE) return { reason: `line longer than ${MAX_LINE} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  if (!isObject(value)) return { reason: 'not a JSON object' };
  const unknown = Object.keys(value).find((key) => !FIELDS.has(key));
  if (unknown !== undefined) return { reason: `unknown field ${unknown}` };
  if (typeof value.email !== 'string') return { reason: 'email is required (a string)' };
  const email = plainEmail(value.email);
  if (email === undefined) return { reason: 'email is not a valid address (local@domain, ASCII only)' };
  const line: AccountLine = { email };
  const { password_hash: hash, name, email_verified: verified, is_admin: admin, projects } = value;
  if (hash !== undefined && hash !== null) {
    if (typeof hash !== 'string' || hash.length > 1024) return { reason: 'password_hash must be a string' };
    try {
      line.password_hash = requireImportableHash(hash);
    } catch {
      return { reason: 'password_hash is not a supported hash (bcrypt, Argon2id, Argon2i, scrypt, PBKDF2-SHA256) within bounds' };
    }
  }
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') return { reason: 'name must be a string' };
    try {
      checkProfile({ name });
    } catch (error) {
      return { reason: error instanceof HttpError ? String(error.extra.detail ?? error.message) : 'name is not valid' };
    }
    line.name = name;
  }
  for (const [field, flag] of [['email_verified', verified], ['is_admin', admin]] as const) {
    if (flag !== undefined && typeof flag !== 'boolean') return { reason: `${field} must be true or false` };
  }
  if (typeof verified === 'boolean') line.email_verified = verified;
  if (typeof admin === 'boolean') line.is_admin = admin;
  if (projects !== undefined) {
    if (!Array.isArray(projects) || projects.length > MAX_PROJECTS) return { reason: `projects must be a list of at most ${MAX_PROJECTS}` };
    const seen = new Set<string>();
    line.projects = [];
    for (const entry of projects as unknown[]) {
      if (!isObject(entry) || typeof entry.id !== 'string' || entry.id === '' || Object.keys(entry).some((k) => k !== 'id' && k !== 'blocked')) {
        return { reason: 'each project must be {"id": "...", "blocked": true | false}' };
      }
      if (entry.blocked !== undefined && typeof entry.blocked !== 'boolean') return { reason: 'blocked must be true or false' };
      if (seen.has(entry.id)) return { reason: `project ${entry.id} given twice` };
      seen.add(entry.id);
      line.projects.push({ id: entry.id, ...(entry.blocked !== undefined ? { blocked: entry.blocked } : {}) });
    }
  }
  return line;
}

export class AccountsIo {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    /** ends every session of an account whose password hash an update replaced (after its batch commits) */
    private readonly endSessionsOf: (userId: string) => Promise<void> = async () => {},
  ) {}

  /**
   * Imports JSON Lines: checks each line, writes them `batchSize` at a time, goes on past a bad
   * line and lists every one (number and reason) in the tally. Blank lines are skipped.
   */
  async importLines(
    lines: AsyncIterable<string>,
    options: { update?: boolean; batchSize?: number; onProgress?: (linesRead: number) => void } = {},
  ): Promise<ImportTally> {
    const tally: ImportTally = { created: 0, updated: 0, unchanged: 0, problems: [] };
    const projects = await this.projectIds();
    const batchSize = options.batchSize ?? 500;
    let batch: Array<{ number: number; account: AccountLine }> = [];
    let number = 0;
    const flush = async () => {
      if (batch.length > 0) await this.importBatch(batch, options.update ?? false, tally);
      batch = [];
      options.onProgress?.(number);
    };
    for await (const text of lines) {
      number++;
      if (text.trim() === '') continue;
      const parsed = parseAccountLine(text);
      if ('reason' in parsed) {
        tally.problems.push({ line: number, reason: parsed.reason });
        continue;
      }
      const missing = parsed.projects?.find((project) => !projects.has(project.id));
      if (missing) {
        tally.problems.push({ line: number, reason: `no project with id ${missing.id}` });
        continue;
      }
      batch.push({ number, account: parsed });
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    tally.problems.sort((a, b) => a.line - b.line);
    return tally;
  }

  /** The ids of every project, to tell a line naming an unknown one before a batch is written. */
  async projectIds(): Promise<Set<string>> {
    return new Set((await this.db.selectFrom('projects').select('id').execute()).map((row) => row.id));
  }

  /**
   * Writes checked lines in one transaction: new emails become accounts; an existing email is
   * left alone, or with `update` takes the line's fields and memberships (a membership not on the
   * line stays). Adds to `tally`.
   */
  async importBatch(lines: Array<{ number: number; account: AccountLine }>, update: boolean, tally: ImportTally): Promise<void> {
    // The accounts whose password hash changed, once their writes are committed.
    let replaced: string[] = [];
    const counts = await this.db.transaction().execute(async (trx) => {
      const counted = { created: 0, updated: 0, unchanged: 0 };
      const changed: string[] = [];
      for (const { account } of lines) counted[await this.write(trx, account, update, changed)]++;
      replaced = changed;
      return counted;
    }).catch(async () => {
      // One line the checks let through failed in the database (say, an email written by someone
      // else meanwhile): each line again alone, so only that one is reported.
      const counted = { created: 0, updated: 0, unchanged: 0 };
      replaced = [];
      for (const { number, account } of lines) {
        const changed: string[] = [];
        try {
          counted[await this.db.transaction().execute((trx) => this.write(trx, account, update, changed))]++;
          replaced.push(...changed);
        } catch (error) {
          tally.problems.push({ line: number, reason: `not written: ${(error as Error).message}` });
        }
      }
      return counted;
    });
    for (const userId of replaced) await this.endSessionsOf(userId);
    tally.created += counts.created;
    tally.updated += counts.updated;
    tally.unchanged += counts.unchanged;
  }

  private async write(trx: Transaction<Database>, account: AccountLine, update: boolean, passwordReplaced: string[]): Promise<'created' | 'updated' | 'unchanged'> {
    const now = this.clock.now();
    const key = normalizeEmail(account.email);
    const existing = await trx.selectFrom('users').select(['id', 'password_hash']).where('email_normalized', '=', key).executeTakeFirst();
    let userId: string;
    let outcome: 'created' | 'updated';
    if (existing) {
      if (!update) return 'unchanged';
      userId = existing.id;
      outcome = 'updated';
      if (account.password_hash !== undefined && account.password_hash !== existing.password_hash) passwordReplaced.push(userId);
      await trx
        .updateTable('users')
        .set({
          email: account.email,
          ...(account.password_hash !== undefined ? { password_hash: account.password_hash } : {}),
          ...(account.name !== undefined ? { name: account.name } : {}),
          ...(account.email_verified !== undefined ? { email_verified: account.email_verified ? 1 : 0 } : {}),
          ...(account.is_admin !== undefined ? { is_admin: account.is_admin ? 1 : 0 } : {}),
          updated_at: now,
        })
        .where('id', '=', userId)
        .execute();
    } else {
      userId = this.ids.id();
      outcome = 'created';
      await trx
        .insertInto('users')
        .values({
          id: userId,
          email: account.email,
          email_normalized: key,
          password_hash: account.password_hash ?? null,
          email_verified: account.email_verified ? 1 : 0,
          is_admin: account.is_admin ? 1 : 0,
          name: account.name ?? null,
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
    for (const project of account.projects ?? []) {
      const blocked = project.blocked ? 1 : 0;
      await trx
        .insertInto('memberships')
        .values({ project_id: project.id, user_id: userId, blocked, created_at: now })
        .onConflict((oc) => (project.blocked !== undefined ? oc.columns(['project_id', 'user_id']).doUpdateSet({ blocked }) : oc.columns(['project_id', 'user_id']).doNothing()))
        .execute();
    }
    return outcome;
  }

  /** Every account in the import format, in the order they were created, a page at a time. */
  async *export(pageSize = 500): AsyncGenerator<Required<Omit<AccountLine, 'password_hash' | 'name'>> & { password_hash: string | null; name: string | null }> {
    let after: { at: number; id: string } | undefined;
    for (;;) {
      let query = this.db.selectFrom('users').select(['id', 'email', 'password_hash', 'name', 'email_verified', 'is_admin', 'created_at']);
      if (after) {
        const { at, id } = after;
        query = query.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('id', '>', id)])]));
      }
      const rows = await query.orderBy('created_at').orderBy('id').limit(pageSize).execute();
      if (rows.length === 0) return;
      const members = await this.db
        .selectFrom('memberships')
        .select(['user_id', 'project_id', 'blocked'])
        .where('user_id', 'in', rows.map((row) => row.id))
        .orderBy('created_at')
        .orderBy('project_id')
        .execute();
      for (const row of rows) {
        yield {
          email: row.email,
          password_hash: row.password_hash,
          name: row.name,
          email_verified: row.email_verified === 1,
          is_admin: row.is_admin === 1,
          projects: members.filter((m) => m.user_id === row.id).map((m) => ({ id: m.project_id, blocked: m.blocked === 1 })),
        };
      }
      const last = rows[rows.length - 1]!;
      after = { at: last.created_at, id: last.id };
    }
  }
}
