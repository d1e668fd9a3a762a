// One set of migrations for SQLite and PostgreSQL, written with Kysely's schema builder
// using only types both understand (text, integer, bigint).
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { sha256 } from '../crypto/tokens.ts';
import type { OpenedDatabase } from './database.ts';
import type { Database } from './schema.ts';

const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text')
        .addColumn('registration_open', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('code_ttl_seconds', 'integer')
        .addColumn('access_token_ttl_seconds', 'integer')
        .addColumn('refresh_token_ttl_seconds', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('email_normalized', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text')
        .addColumn('email_verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('blocked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['project_id', 'user_id'])
        .execute();
      await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

      await db.schema
        .createTable('pins')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('pin_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('pins_project').on('pins').column('project_id').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('pin_id', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('sessions_project').on('sessions').column('project_id').execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_pin').on('sessions').column('pin_id').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute();

      await db.schema
        .createTable('kv')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kv_expires').on('kv').column('expires_at').execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();

      await db.schema
        .createTable('instance_secrets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text')
        .addColumn('subject', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute();
      await db.schema.createIndex('audit_events_project').on('audit_events').columns(['project_id', 'at']).execute();
    },
  },
  '0002_expiry_indexes': {
    // Housekeeping deletes expired refresh tokens and sessions; these keep that a range scan.
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('refresh_tokens_expires').on('refresh_tokens').column('expires_at').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
    },
  },
  '0003_no_refresh_token_session_index': {
    // Nothing looks refresh tokens up by session any more (housekeeping deletes sessions by their
    // expiry), and every rotation paid for this index: the new token's entry lands on a random
    // leaf, a page more to write per rotation (5.1 against 3.9 WAL pages, docs/decisions/0026-no-index-on-refresh-token-session.md).
    async up(db: Kysely<unknown>) {
      await db.schema.dropIndex('refresh_tokens_session').execute();
    },
  },
  '0004_hashed_session_ids': {
    // A session is stored under the SHA-256 of its id, which lives only in its tokens
    // (docs/decisions/0044-hashed-session-ids.md). Existing sessions are re-keyed here; their
    // refresh tokens, which do not carry the id, give them a new one at their next rotation.
    // Refresh tokens are updated by their primary key: session_id has no index (0003).
    async up(db: Kysely<unknown>) {
      const trx = db as unknown as Kysely<Database>;
      const sessions = await trx.selectFrom('sessions').select('id').execute();
      for (const { id } of sessions) await trx.updateTable('sessions').set({ id: sha256(id) }).where('id', '=', id).execute();
      const tokens = await trx.selectFrom('refresh_tokens').select(['token_hash', 'session_id']).execute();
      for (const t of tokens) await trx.updateTable('refresh_tokens').set({ session_id: sha256(t.session_id) }).where('token_hash', '=', t.token_hash).execute();
    },
  },
  '0005_session_max_seconds': {
    // A project's absolute session lifetime (null: GATEHOUSE_SESSION_MAX_SECONDS).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('session_max_seconds', 'integer').execute();
    },
  },
  '0006_sealed_sid': {
    // Each session's sid, sealed beside its hashed id, for the admin listing
    // (docs/decisions/0044-hashed-session-ids.md). Sessions from before stay null until their
    // next re-keying; the listing shows those under their stored id.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('sessions').addColumn('sid_sealed', 'text').execute();
    },
  },
  '0007_browser_sessions': {
    // One signed-in person in one browser (docs/sso.md): the cookie's value is only in the
    // browser, the row keeps its SHA-256. Project sessions remember the browser session they
    // were started from, so that a logout ends them too.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('browser_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('amr', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('browser_sessions_user').on('browser_sessions').column('user_id').execute();
      await db.schema.alterTable('sessions').addColumn('browser_session_id', 'text').execute();
      await db.schema.createIndex('sessions_browser_session').on('sessions').column('browser_session_id').execute();
      // Where a logout may send the browser back to (JSON array, exact match; default none).
      await db.schema.alterTable('projects').addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    },
  },
  '0008_signing_algs': {
    // The algorithm a project's tokens are signed with (docs/decisions/0057-rs256-beside-es256.md),
    // and when a pre-published signing key starts signing (0058-pre-published-signing-keys.md).
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('projects')
        .addColumn('token_signing_alg', 'text', (col) => col.notNull().defaultTo('ES256'))
        .execute();
      await db.schema.alterTable('signing_keys').addColumn('signs_from', 'bigint').execute();
    },
  },
  '0009_project_and_profile_fields': {
    // Single sign-on (sso.md): a project's CORS origins besides its redirect URIs'; profile claims.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('allowed_origins', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      // PKCE may be left out by a confidential project that says so (1: required).
      await db.schema.alterTable('projects').addColumn('require_pkce', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      // The sign-in methods a project offers (JSON array; default all).
      await db.schema.alterTable('projects').addColumn('login_methods', 'text', (c) => c.notNull().defaultTo('["password","magic_link","pin"]')).execute();
      // A person's profile claims (null: not set).
      for (const column of ['name', 'given_name', 'family_name', 'picture', 'locale']) {
        await db.schema.alterTable('users').addColumn(column, 'text').execute();
      }
    },
  },
  '0010_account_tokens': {
    // Every token mailed for an account (docs/accounts.md): a password reset, an email
    // verification, an email change. Only the SHA-256 of the token is kept; `email` is the
    // account's address when it was mailed (the token works only while it still is), `new_email`
    // the address an email change switches to, `authorization` the request (JSON) a sign-in resumes.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('account_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('new_email', 'text')
        .addColumn('authorization', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema.createIndex('account_tokens_user').on('account_tokens').columns(['user_id', 'purpose']).execute();
      await db.schema.createIndex('account_tokens_expires').on('account_tokens').column('expires_at').execute();
      // Sign-ins of an account whose email is not verified are refused (1) or not (0, default).
      await db.schema.alterTable('projects').addColumn('require_verified_email', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0011_branding': {
    // A project's branding on the hosted pages (docs/accounts.md "Branding"): an https logo URL and a
    // `#rrggbb` colour, both optional (null: the default look).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('logo_url', 'text').execute();
      await db.schema.alterTable('projects').addColumn('brand_color', 'text').execute();
    },
  },
  '0012_second_factors': {
    async up(db: Kysely<unknown>) {
      // One row per factor of a person (kind 'totp' now; passkeys later in a table of their own).
      // The TOTP secret is sealed (crypto/sealed.ts): it must be read back to check a code.
      await db.schema
        .createTable('second_factors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('confirmed_at', 'bigint')
        // the last 30-second step a code was accepted for: a code is accepted once (RFC 6238 §5.2)
        .addColumn('last_step', 'bigint')
        .execute();
      await db.schema.createIndex('second_factors_user').on('second_factors').columns(['user_id', 'kind']).execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
        .execute();
      // A project whose people must have a second factor (1) or not (0, default).
      await db.schema.alterTable('projects').addColumn('require_mfa', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0014_service_clients': {
    // Machines (docs/machines.md): a confidential project may use the client_credentials grant
    // (1), for the scopes of service_scopes (JSON array, default none); admin_api (1) lets its
    // tokens with the scope `admin` use the admin API.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('client_credentials', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('projects').addColumn('service_scopes', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('projects').addColumn('admin_api', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0015_outbox': {
    // Webhooks (docs/webhooks.md) and their outbox: a delivery row per matching webhook is
    // written in the audit event's own transaction, and claimed by one deliverer at a time
    // (`claimed_until`, a lease). `events` is a JSON list of event types or ["*"]; `secret` is
    // sealed under GATEHOUSE_SECRET_KEY when one is set; `payload` is the exact body every try sends.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text')
        .addColumn('description', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('claimed_until', 'bigint')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_duration_ms', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at', 'bigint')
        .execute();
      // the deliverer's claim: pending rows, earliest due first
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      // a webhook's latest deliveries (GET /admin/webhooks/:id/deliveries)
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'created_at']).execute();
    },
  },
  '0016_connections': {
    // Signing in with another OpenID provider (docs/federation.md). A connection is one upstream
    // provider: its client secret sealed under GATEHOUSE_SECRET_KEY (it is sent back to the
    // provider, so it cannot be hashed), the discovery document fetched when it was made or its
    // issuer changed (`metadata`, JSON). An identity links a provider's `sub` to an account, once
    // per connection. Projects offer a list of connection ids (JSON array, default none).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('connections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('client_secret', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('identities')
        .addColumn('connection_id', 'text', (c) => c.notNull())
        .addColumn('sub', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addPrimaryKeyConstraint('identities_pk', ['connection_id', 'sub'])
        .execute();
      await db.schema.createIndex('identities_user').on('identities').column('user_id').execute();
      await db.schema.alterTable('projects').addColumn('connections', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    },
  },
  '0017_backchannel_logout': {
    // Back-channel logout (docs/backchannel-logout.md): a project may name the URI its logout
    // tokens are POSTed to (null: none are sent). They go through the webhooks' outbox as a
    // second kind of delivery: `kind` says which ('webhook', the default, or
    // 'backchannel_logout'); for a logout `webhook_id` holds the project's id, `event_id` the
    // session's stored key and `payload` what the token is made of at each try.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('backchannel_logout_uri', 'text').execute();
      await db.schema.alterTable('webhook_deliveries').addColumn('kind', 'text', (c) => c.notNull().defaultTo('webhook')).execute();
    },
  },
  '0019_spent_token_successor': {
    // A spent refresh token names the token it was exchanged for, so that the purge can tell the
    // latest spent token of a chain (its successor still unspent: kept, reuse detection needs it)
    // from older ones (deleted an hour after they were spent), and a session keeps a bounded
    // number of rows however often it refreshes (docs/decisions/0138-spent-refresh-tokens-kept-for-an-hour.md).
    // Tokens spent before this migration have none and keep going at their own expiry.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('refresh_tokens').addColumn('successor_hash', 'text').execute();
    },
  },
  '0020_project_revision': {
    // A project's revision, new at every change: on PostgreSQL the refresh grant judges the client
    // by the project as this instance last read it, and its one read of the token tells whether
    // that is still the project's revision (docs/decisions/0140-the-refresh-grant-checks-the-project-revision.md).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('projects').addColumn('revision', 'text', (c) => c.notNull().defaultTo('initial')).execute();
    },
  },
  '0021_passkeys': {
    // mfa.md: a person's passkeys (WebAuthn credentials), in a table of their own (docs/decisions/0095).
    // `id` is the credential id (base64url) the authenticator chose; the public key (COSE, base64url)
    // is no secret. The sign count only grows (WebAuthn §6.1.1); `transports` is a JSON list.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('sign_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('passkeys_user').on('passkeys').column('user_id').execute();
    },
  },
};

/**
 * undefined_table, undefined_column (a table of another schema read while it is dropped),
 * invalid_schema_name, internal error ("cache lookup failed"), serialization failure, deadlock
 */
const CONCURRENT_CATALOG_CHANGE = new Set(['42P01', '42703', '3F000', 'XX000', '40001', '40P01']);

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies the migrations once, however many instances start together: on PostgreSQL under an
 * advisory lock, after creating the schema the connection's search_path names first when it
 * does not exist yet (as a first start creates the SQLite file).
 */
export async function migrateDatabase(database: OpenedDatabase): Promise<string[]> {
  return database.withLock('migrate', async (db) => {
    const schema = database.kind === 'postgres' ? await searchPathSchema(db) : undefined;
    return migrateToLatest(db, schema);
  });
}

/** The schema PostgreSQL creates tables in, created first when search_path names a missing one. */
async function searchPathSchema(db: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null; path: string }>`select current_schema() as schema, current_setting('search_path') as path`.execute(db);
  const row = rows[0];
  if (row?.schema) return row.schema;
  const first = (row?.path ?? '')
    .split(',')
    .map((part) => part.trim().replace(/^"(.*)"$/, '$1'))
    .find((part) => part !== '' && part !== '$user');
  if (!first) throw new Error('PostgreSQL has no schema to create tables in: set search_path or create the public schema');
  await db.schema.createSchema(first).ifNotExists().execute();
  return first;
}

/**
 * `schema`: where PostgreSQL keeps the migration bookkeeping. Named explicitly because Kysely
 * otherwise looks for its tables in every schema of the database and would take another
 * deployment's (or another test's) for ours.
 */
async function migrateToLatest(db: Kysely<Database>, schema?: string): Promise<string[]> {
  // Migrations see the schema as it was when they were written, not today's table types.
  const migrator = new Migrator({
    db: db as unknown as Kysely<unknown>,
    provider,
    ...(schema !== undefined ? { migrationTableSchema: schema } : {}),
  });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely's introspection reads the tables of every schema; one dropped by another user of
    // the database while that query runs makes it fail (undefined table or schema, a catalog
    // cache miss, a serialization failure). The migration runs in a transaction, so nothing
    // was applied: it is simply asked again.
    const code = (error as { code?: string }).code ?? '';
    if (!CONCURRENT_CATALOG_CHANGE.has(code) || attempt >= 5) throw error instanceof Error ? error : new Error(String(error));
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
