// People (one global account per email) and their memberships in projects.
import { SessionEndings } from '../sessions/session-endings.ts';
import type { Kysely, Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { Database, UsersTable } from '../storage/schema.ts';
import { EmailAlreadyRegistered } from '../errors.ts';
import { isValidEmail, legacyEmailKey, normalizeEmail, plainEmail, requireValidEmail } from './email.ts';
import type { Ids } from '../crypto/random.ts';
import { after, allPages, toPage, type Page, type PageRequest } from '../storage/paging.ts';
import type { Profile, ProfileChanges } from './profile.ts';

export interface User extends Profile {
  id: string;
  email: string;
  email_verified: boolean;
  is_admin: boolean;
  has_password: boolean;
  created_at: string;
  updated_at: string;
}

interface UserRecord {
  user: User;
  passwordHash: string | null;
}

export interface Membership {
  user_id: string;
  email: string;
  blocked: boolean;
}

interface NewUser extends ProfileChanges {
  email: string;
  password?: string;
  /** a hash made elsewhere, already read by requireImportableHash (instead of password) */
  password_hash?: string;
  is_admin?: boolean;
  email_verified?: boolean;
}

interface UserChanges extends ProfileChanges {
  email?: string;
  password?: string;
  is_admin?: boolean;
  email_verified?: boolean;
}

/** The profile fields given in `input`, as columns. */
function profileColumns(input: ProfileChanges): ProfileChanges {
  return {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ...(input.given_name !== undefined ? { given_name: input.given_name } : {}),
    ...(input.family_name !== undefined ? { family_name: input.family_name } : {}),
    ...(input.picture !== undefined ? { picture: input.picture } : {}),
    ...(input.locale !== undefined ? { locale: input.locale } : {}),
  };
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    email_verified: row.email_verified === 1,
    is_admin: row.is_admin === 1,
    has_password: row.password_hash !== null,
    name: row.name,
    given_name: row.given_name,
    family_name: row.family_name,
    picture: row.picture,
    locale: row.locale,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

export class UserService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly hasher: PasswordHasher,
    /** how sessions end, and what goes with it (a back-channel logout) */
    private readonly endings: SessionEndings = new SessionEndings(db, clock),
  ) {}

  async find(id: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  /**
   * The account of an address. An address not in the plain form (users/email.ts) matches no
   * account, and neither does an account stored before that rule with an address outside it:
   * its key may equal a plain one (the Kelvin sign lower-cased to `k`), and it must not answer
   * for the real owner of that address (docs/decisions/0040-plain-ascii-emails.md).
   */
  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const plain = plainEmail(email);
    if (plain === undefined) return undefined;
    const row = await this.rowByKey(normalizeEmail(plain));
    if (!row || !isValidEmail(row.email)) return undefined;
    return { user: toUser(row), passwordHash: row.password_hash };
  }

  private rowByKey(key: string): Promise<Selectable<UsersTable> | undefined> {
    return this.db.selectFrom('users').selectAll().where('email_normalized', '=', key).executeTakeFirst();
  }

  /** Every account (or those filed under an address), in the order they were created. */
  list(email?: string): Promise<User[]> {
    return allPages((page) => this.listPage(page, email));
  }

  /**
   * Accounts in the order they were created, a page at a time; with an address, those filed under
   * it (an address outside the plain form finds accounts stored before that rule).
   */
  async listPage(page: PageRequest, email?: string): Promise<Page<User>> {
    let query = this.db.selectFrom('users').selectAll();
    if (email !== undefined) {
      const plain = plainEmail(email);
      query = query.where('email_normalized', '=', plain !== undefined ? normalizeEmail(plain) : legacyEmailKey(email));
    }
    if (page.after) query = query.where(after('created_at', 'id', 'asc', page.after));
    const rows = await query.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (row) => ({ at: row.created_at, id: row.id }), toUser);
  }

  /** Creates a user; throws EmailAlreadyRegistered when the email is taken (by a racing request too). */
  async create(input: NewUser): Promise<User> {
    const email = requireValidEmail(input.email);
    const now = this.clock.now();
    const passwordHash = input.password !== undefined ? await this.hasher.hash(input.password) : (input.password_hash ?? null);
    const row = await this.db
      .insertInto('users')
      .values({
        id: this.ids.id(),
        email,
        email_normalized: normalizeEmail(email),
        password_hash: passwordHash,
        email_verified: input.email_verified ? 1 : 0,
        is_admin: input.is_admin ? 1 : 0,
        ...profileColumns(input),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('email_normalized').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw EmailAlreadyRegistered();
    return toUser(row);
  }

  /** Applies changes; answers undefined for an unknown user, throws EmailAlreadyRegistered when the new email belongs to someone else. */
  async update(id: string, changes: UserChanges): Promise<User | undefined> {
    const email = changes.email !== undefined ? requireValidEmail(changes.email) : undefined;
    if (email !== undefined) {
      // Any account filed under the key, a legacy one too: the key is unique.
      const other = await this.rowByKey(normalizeEmail(email));
      if (other && other.id !== id) throw EmailAlreadyRegistered();
    }
    const passwordHash = changes.password !== undefined ? await this.hasher.hash(changes.password) : undefined;
    const row = await this.db
      .updateTable('users')
      .set({
        ...(email !== undefined ? { email, email_normalized: normalizeEmail(email) } : {}),
        ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
        ...(changes.is_admin !== undefined ? { is_admin: changes.is_admin ? 1 : 0 } : {}),
        ...(changes.email_verified !== undefined ? { email_verified: changes.email_verified ? 1 : 0 } : {}),
        ...profileColumns(changes),
        updated_at: this.clock.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst()
      .catch(async (error: unknown) => {
        // The address was taken between the check above and this update (the unique key refused it).
        const holder = email !== undefined ? await this.rowByKey(normalizeEmail(email)) : undefined;
        if (holder && holder.id !== id) throw EmailAlreadyRegistered();
        throw error;
      });
    return row && toUser(row);
  }

  /**
   * Deletes the account and its memberships. Sessions are kept (their refresh tokens then
   * answer "User not found", as the contract asks).
   */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await trx.deleteFrom('memberships').where('user_id', '=', id).execute();
      // mfa.md: the account's second factors go with it.
      await trx.deleteFrom('second_factors').where('user_id', '=', id).execute();
      await trx.deleteFrom('recovery_codes').where('user_id', '=', id).execute();
      await trx.deleteFrom('passkeys').where('user_id', '=', id).execute();
      // Its sessions stay (their refresh tokens answer "User not found"); their apps are told now.
      await this.endings.tellIn(trx, { userId: id });
      // an account's links to upstream providers (docs/federation.md) go with it
      await trx.deleteFrom('identities').where('user_id', '=', id).execute();
      return true;
    });
    if (deleted) this.endings.committed();
    return deleted;
  }

  /**
   * After a successful password check: stores a new hash of the password when the stored one was
   * made with weaker parameters than the configured ones. Only the hash that was checked is
   * replaced, so a password changed meanwhile is never overwritten. Answers whether it did.
   */
  async upgradePasswordHash(id: string, checkedHash: string, password: string): Promise<boolean> {
    if (!this.hasher.needsRehash(checkedHash)) return false;
    const passwordHash = await this.hasher.hash(password);
    const result = await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', id)
      .where('password_hash', '=', checkedHash)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Marks the email verified; answers whether it was not verified before (the conditional update decides between racing proofs). */
  async markEmailVerified(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ email_verified: 1, updated_at: this.clock.now() })
      .where('id', '=', id)
      .where('email_verified', '=', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Removes the password of an account whose email is not verified (see users/mailbox-proof.ts);
   * answers whether there was one. A verified account is never touched.
   */
  async removeUnverifiedPassword(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ password_hash: null, updated_at: this.clock.now() })
      .where('id', '=', id)
      .where('email_verified', '=', 0)
      .where('password_hash', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  // Memberships

  async membership(projectId: string, userId: string): Promise<{ blocked: boolean } | undefined> {
    const row = await this.db
      .selectFrom('memberships')
      .select('blocked')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && { blocked: row.blocked === 1 };
  }

  /** The projects a user is a member of, in the order they joined, with whether they are blocked there. */
  async projectsOf(userId: string): Promise<Array<{ project_id: string; name: string; blocked: boolean }>> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('projects', 'projects.id', 'memberships.project_id')
      .select(['memberships.project_id', 'projects.name', 'memberships.blocked'])
      .where('memberships.user_id', '=', userId)
      .orderBy('memberships.created_at')
      .orderBy('memberships.project_id')
      .execute();
    return rows.map((r) => ({ project_id: r.project_id, name: r.name, blocked: r.blocked === 1 }));
  }

  /** Adds the membership if missing (idempotent); never unblocks. */
  async addMember(projectId: string, userId: string): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ project_id: projectId, user_id: userId, blocked: 0, created_at: this.clock.now() })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doNothing())
      .execute();
  }

  /**
   * Removes a member and, in the same transaction, ends their sessions in the project: a removed
   * member keeps no way back in through a token issued before (hardening M2). Every front door
   * (admin API, command line) removes through here.
   */
  async removeMember(projectId: string, userId: string): Promise<boolean> {
    const removed = await this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('memberships').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await this.endings.endIn(trx, { projectId, userId });
      return true;
    });
    if (removed) this.endings.committed();
    return removed;
  }

  /**
   * Blocks or unblocks a member; false when there is no such membership. Blocking keeps the
   * member's sessions on record (their refresh tokens answer "Account blocked"), and their apps
   * are told at once, in the same transaction (back-channel logout).
   */
  async setBlocked(projectId: string, userId: string, blocked: boolean): Promise<boolean> {
    const value = blocked ? 1 : 0;
    const outcome = await this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('memberships')
        .set({ blocked: value })
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .where('blocked', '!=', value)
        .executeTakeFirst();
      const changed = Number(result.numUpdatedRows) > 0;
      if (changed && blocked) await this.endings.tellIn(trx, { projectId, userId });
      if (changed) return 'changed';
      const member = await trx.selectFrom('memberships').select('user_id').where('project_id', '=', projectId).where('user_id', '=', userId).executeTakeFirst();
      return member ? 'unchanged' : 'none';
    });
    if (outcome === 'changed' && blocked) this.endings.committed();
    return outcome !== 'none';
  }

  /** Every member of a project, in the order they joined. */
  members(projectId: string): Promise<Membership[]> {
    return allPages((page) => this.membersPage(projectId, page));
  }

  /** A project's members in the order they joined, a page at a time. */
  async membersPage(projectId: string, page: PageRequest): Promise<Page<Membership>> {
    let query = this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['memberships.user_id', 'users.email', 'memberships.blocked', 'memberships.created_at'])
      .where('memberships.project_id', '=', projectId);
    if (page.after) query = query.where(after('memberships.created_at', 'memberships.user_id', 'asc', page.after));
    const rows = await query.orderBy('memberships.created_at').orderBy('memberships.user_id').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (r) => ({ at: r.created_at, id: r.user_id }), (r) => ({ user_id: r.user_id, email: r.email, blocked: r.blocked === 1 }));
  }

  async member(projectId: string, userId: string): Promise<Membership | undefined> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['memberships.user_id', 'users.email', 'memberships.blocked'])
      .where('memberships.project_id', '=', projectId)
      .where('memberships.user_id', '=', userId)
      .execute();
    const r = rows[0];
    return r && { user_id: r.user_id, email: r.email, blocked: r.blocked === 1 };
  }

  /** Makes sure the configured admin exists, is an admin, has that password and is in console. */
  /**
   * Creates the configured admin, or makes the account of that email an admin with that password.
   * Answers whether an existing account's password was changed: its sessions must then end, as for
   * any password set by an admin.
   */
  async ensureAdmin(email: string, password: string, consoleProjectId: string): Promise<{ user: User; passwordChanged: boolean }> {
    const existing = await this.findByEmail(email);
    let user: User | undefined;
    let passwordChanged = false;
    if (!existing) {
      user = await this.create({ email, password, is_admin: true, email_verified: true });
    } else {
      const samePassword = existing.passwordHash !== null && (await this.hasher.verify(existing.passwordHash, password));
      passwordChanged = !samePassword;
      user = await this.update(existing.user.id, { is_admin: true, ...(samePassword ? {} : { password }) });
    }
    if (!user) throw new Error('could not create the configured admin');
    await this.addMember(consoleProjectId, user.id);
    return { user, passwordChanged };
  }
}
