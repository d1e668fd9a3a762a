// Projects: the OAuth clients Gatehouse serves.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { matchesHash, sha256 } from '../crypto/tokens.ts';
import { AccountRedirectUriFixed, ConsoleRedirectUriFixed, InvalidRequest, isError, NotFound, ProjectAlreadyExists } from '../errors.ts';
import { after, allPages, toPage, type Page, type PageRequest } from '../storage/paging.ts';
import { param, prepare, type PreparedQuery } from '../storage/prepared.ts';
import type { Database, ProjectsTable } from '../storage/schema.ts';
import type { Ids } from '../crypto/random.ts';
import { DEFAULT_SIGNING_ALG, isSigningAlg, type SigningAlg } from '../crypto/keys.ts';
import { projectOrigins } from './allowed-origins.ts';

export const CONSOLE_PROJECT_ID = 'console';
/** The built-in public project of the account page (accounts.md "The account page"). */
export const ACCOUNT_PROJECT_ID = 'account';
/** The sign-in methods a project may offer (sso.md "Sign-in methods per project"). */
export const LOGIN_METHODS = ['password', 'magic_link', 'pin', 'passkey'] as const;
export type LoginMethodName = (typeof LOGIN_METHODS)[number];
/** What a new project offers: sso.md's three; `passkey` (mfa.md) is switched on per project. */
export const DEFAULT_LOGIN_METHODS: readonly LoginMethodName[] = ['password', 'magic_link', 'pin'];
export const PROJECT_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

/**
 * Whether a client_id could name a project at all. Every door a client_id enters by asks this
 * before a rate-limit counter or a query sees the value: 1,500 requests with long made-up ids
 * once grew the process by 192 MiB and the database by 185 MB (one counter each).
 */
export function isProjectId(id: string): boolean {
  return PROJECT_ID_PATTERN.test(id);
}
export const MAX_PROJECT_NAME_LENGTH = 200;

/**
 * A project's display name, trimmed: 1 to MAX_PROJECT_NAME_LENGTH characters after trimming, no
 * control characters (it is shown on the hosted pages and put into mail headers). Throws 400.
 */
export function checkProjectName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (trimmed === '' || trimmed.length > MAX_PROJECT_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw InvalidRequest({ detail: `name must be 1 to ${MAX_PROJECT_NAME_LENGTH} characters, without control characters` });
  }
  return trimmed;
}

export interface Project {
  id: string;
  name: string;
  redirect_uris: string[];
  confidential: boolean;
  registration_open: boolean;
  code_ttl_seconds: number | null;
  access_token_ttl_seconds: number | null;
  refresh_token_ttl_seconds: number | null;
  /** a session ends this long after it began however often it is refreshed; null: the instance default */
  session_max_seconds: number | null;
  // Single sign-on: CORS (sso.md "CORS, for single-page apps").
  /** origins (`scheme://host[:port]`) allowed besides those of the redirect URIs */
  allowed_origins: string[];
  // Single sign-on: PKCE for confidential clients that cannot send it (sso.md).
  /** false: a confidential project's requests may leave out `code_challenge` */
  require_pkce: boolean;
  // Single sign-on: sign-in methods per project (sso.md).
  login_methods: LoginMethodName[];
  created_at: string;
  updated_at: string;
  /** single sign-on (docs/sso.md): where a logout may send the browser back to, exact match */
  post_logout_redirect_uris: string[];
  /** what the project's ID and access tokens are signed with */
  token_signing_alg: SigningAlg;
  /** accounts.md: a sign-in of an account whose email is not verified is refused (403 Email not verified) */
  require_verified_email: boolean;
  /** mfa.md: every sign-in needs a second factor (403 MFA enrollment required for a person with none) */
  require_mfa: boolean;
  // Branding of the hosted pages (accounts.md "The hosted pages, redesigned").
  /** an https URL of the logo shown on the project's pages; null: none */
  logo_url: string | null;
  /** `#rrggbb` (lower case): the primary button and links where it contrasts enough; null: the default colours */
  brand_color: string | null;
  // Machines (docs/machines.md)
  /** the project may use the client_credentials grant (a confidential project only) */
  client_credentials: boolean;
  /** the scopes its client_credentials tokens may carry */
  service_scopes: string[];
  /** its client_credentials tokens with the scope `admin` may use the admin API */
  admin_api: boolean;
  /** machines.md: where its back-channel logout tokens are POSTed (docs/backchannel-logout.md); null: none are */
  backchannel_logout_uri: string | null;
  /** federation.md: the upstream providers (connection ids) offered on its page */
  connections: string[];
}

export interface ProjectRecord {
  project: Project;
  secretHash: string | null;
  /** the stored redirect URIs and allowed origins, as read: what the project's CORS origins follow */
  originsKey: string;
  /** the row's revision as read (see findForRefresh) */
  revision: string;
}

/** What a project is created with or changed to, beside its name and redirect URIs. */
interface ProjectSettings {
  registration_open?: boolean;
  code_ttl_seconds?: number | null;
  access_token_ttl_seconds?: number | null;
  refresh_token_ttl_seconds?: number | null;
  session_max_seconds?: number | null;
  post_logout_redirect_uris?: string[];
  token_signing_alg?: SigningAlg;
  allowed_origins?: string[];
  require_pkce?: boolean;
  login_methods?: LoginMethodName[];
  require_verified_email?: boolean;
  require_mfa?: boolean;
  logo_url?: string | null;
  brand_color?: string | null;
  client_credentials?: boolean;
  service_scopes?: string[];
  admin_api?: boolean;
  backchannel_logout_uri?: string | null;
  connections?: string[];
}

export interface NewProject extends ProjectSettings {
  id?: string;
  name: string;
  redirect_uris: string[];
  confidential?: boolean;
}

export interface ProjectChanges extends ProjectSettings {
  name?: string;
  redirect_uris?: string[];
}

/** The columns of the fields given (the others are left out), as they are stored. */
function columnsOf(changes: ProjectChanges) {
  return {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.redirect_uris !== undefined ? { redirect_uris: JSON.stringify(changes.redirect_uris) } : {}),
    ...(changes.registration_open !== undefined ? { registration_open: changes.registration_open ? 1 : 0 } : {}),
    ...(changes.code_ttl_seconds !== undefined ? { code_ttl_seconds: changes.code_ttl_seconds } : {}),
    ...(changes.access_token_ttl_seconds !== undefined ? { access_token_ttl_seconds: changes.access_token_ttl_seconds } : {}),
    ...(changes.refresh_token_ttl_seconds !== undefined ? { refresh_token_ttl_seconds: changes.refresh_token_ttl_seconds } : {}),
    ...(changes.session_max_seconds !== undefined ? { session_max_seconds: changes.session_max_seconds } : {}),
    ...(changes.post_logout_redirect_uris !== undefined ? { post_logout_redirect_uris: JSON.stringify(changes.post_logout_redirect_uris) } : {}),
    ...(changes.token_signing_alg !== undefined ? { token_signing_alg: changes.token_signing_alg } : {}),
    ...(changes.allowed_origins !== undefined ? { allowed_origins: JSON.stringify(changes.allowed_origins) } : {}),
    ...(changes.require_pkce !== undefined ? { require_pkce: changes.require_pkce ? 1 : 0 } : {}),
    ...(changes.login_methods !== undefined ? { login_methods: JSON.stringify(changes.login_methods) } : {}),
    ...(changes.require_verified_email !== undefined ? { require_verified_email: changes.require_verified_email ? 1 : 0 } : {}),
    ...(changes.require_mfa !== undefined ? { require_mfa: changes.require_mfa ? 1 : 0 } : {}),
    ...(changes.logo_url !== undefined ? { logo_url: changes.logo_url } : {}),
    ...(changes.brand_color !== undefined ? { brand_color: changes.brand_color } : {}),
    ...(changes.client_credentials !== undefined ? { client_credentials: changes.client_credentials ? 1 : 0 } : {}),
    ...(changes.service_scopes !== undefined ? { service_scopes: JSON.stringify(changes.service_scopes) } : {}),
    ...(changes.admin_api !== undefined ? { admin_api: changes.admin_api ? 1 : 0 } : {}),
    ...(changes.backchannel_logout_uri !== undefined ? { backchannel_logout_uri: changes.backchannel_logout_uri } : {}),
    ...(changes.connections !== undefined ? { connections: JSON.stringify(changes.connections) } : {}),
  };
}

interface Lifetimes {
  codeMs: number;
  accessTokenSeconds: number;
  refreshTokenMs: number;
  /** absolute session lifetime */
  sessionMaxMs: number;
}

function toProject(row: Selectable<ProjectsTable>): Project {
  return {
    id: row.id,
    name: row.name,
    redirect_uris: JSON.parse(row.redirect_uris) as string[],
    confidential: row.secret_hash !== null,
    registration_open: row.registration_open === 1,
    code_ttl_seconds: row.code_ttl_seconds,
    access_token_ttl_seconds: row.access_token_ttl_seconds,
    refresh_token_ttl_seconds: row.refresh_token_ttl_seconds,
    session_max_seconds: row.session_max_seconds,
    allowed_origins: JSON.parse(row.allowed_origins) as string[],
    require_pkce: row.require_pkce !== 0,
    login_methods: JSON.parse(row.login_methods) as LoginMethodName[],
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    post_logout_redirect_uris: JSON.parse(row.post_logout_redirect_uris) as string[],
    token_signing_alg: isSigningAlg(row.token_signing_alg) ? row.token_signing_alg : DEFAULT_SIGNING_ALG,
    require_verified_email: row.require_verified_email === 1,
    require_mfa: row.require_mfa === 1,
    logo_url: row.logo_url,
    brand_color: row.brand_color,
    client_credentials: row.client_credentials === 1,
    service_scopes: JSON.parse(row.service_scopes) as string[],
    admin_api: row.admin_api === 1,
    backchannel_logout_uri: row.backchannel_logout_uri,
    connections: JSON.parse(row.connections) as string[],
  };
}

/**
 * Projects as last read, on SQLite: every token request looks its project up, and projects
 * change rarely. A process has the SQLite file to itself except for the command line, so the
 * cache is dropped when this process changes a project (and is bypassed while it does) and when
 * another connection has committed anything (`PRAGMA data_version`, looked at once per
 * event-loop turn: see otherConnectionsCommitted). Unknown ids are not remembered, so made-up
 * client_ids cannot grow it; nor can it outgrow `MAX_CACHED_PROJECTS`.
 */
class ProjectCache {
  private readonly records = new Map<string, ProjectRecord>();
  private writing = 0;
  /** moves at the start and end of every change, so that a read that overlapped one is not kept */
  generation = 0;

  constructor(private readonly othersCommitted: () => boolean) {}

  get(id: string): ProjectRecord | undefined {
    if (this.othersCommitted()) this.records.clear();
    return this.writing === 0 ? this.records.get(id) : undefined;
  }

  /** Keeps a record read while `generation` was `readAt`. */
  remember(id: string, record: ProjectRecord, readAt: number): void {
    if (this.writing > 0 || readAt !== this.generation) return;
    if (this.records.size >= MAX_CACHED_PROJECTS) this.records.clear();
    this.records.set(id, record);
  }

  /** Runs a change to projects: nothing is served from the cache until it is over. */
  async change<T>(write: () => Promise<T>): Promise<T> {
    this.writing++;
    this.generation++;
    this.records.clear();
    try {
      return await write();
    } finally {
      this.writing--;
      this.generation++;
    }
  }
}

const MAX_CACHED_PROJECTS = 10_000;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** A project row's revision: new at every change, never reused (a project deleted and made again gets a new one). */
function newRevision(): string {
  return randomBytes(12).toString('base64url');
}

function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export class ProjectService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly config: Config,
    /** SQLite: tells whether another connection has committed since it last looked (OpenedDatabase); none on PostgreSQL */
    othersCommitted?: () => boolean,
  ) {
    // Read on every token request: compiled once.
    this.byId = prepare(db.selectFrom('projects').selectAll().where('id', '=', param<string>('id')));
    this.cache = othersCommitted ? new ProjectCache(othersCommitted) : undefined;
  }

  private readonly byId: PreparedQuery<{ id: string }, Selectable<ProjectsTable>>;
  private readonly cache: ProjectCache | undefined;

  /** The project; callers share the answer (it is frozen). */
  async find(id: string): Promise<ProjectRecord | undefined> {
    if (!isProjectId(id)) return undefined;
    const cached = this.cache?.get(id);
    if (cached) return cached;
    const readAt = this.cache?.generation ?? 0;
    const row = await this.byId.first(this.db, { id });
    if (!row) return undefined;
    const project = toProject(row);
    Object.freeze(project.redirect_uris);
    Object.freeze(project.allowed_origins);
    Object.freeze(project.login_methods);
    Object.freeze(project.service_scopes);
    Object.freeze(project.connections);
    const record = Object.freeze({ project: Object.freeze(project), secretHash: row.secret_hash, originsKey: `${row.redirect_uris}\n${row.allowed_origins}`, revision: row.revision });
    this.cache?.remember(id, record, readAt);
    return record;
  }

  /**
   * The project for a refresh grant, possibly as this instance last read it. On SQLite that is
   * find (its cache sees every change). On PostgreSQL, with no way to see another instance's
   * change, a remembered record is answered as is: the grant's read of the token also reads the
   * project's revision, and a grant that finds another one calls forgetForRefresh and starts
   * again with find (sessions.ts, StaleProject). Unknown ids are never remembered.
   */
  async findForRefresh(id: string): Promise<ProjectRecord | undefined> {
    if (this.cache || !isProjectId(id)) return this.find(id);
    const remembered = this.refreshRecords.get(id);
    if (remembered) return remembered;
    const record = await this.find(id);
    if (record) {
      if (this.refreshRecords.size >= MAX_CACHED_PROJECTS) this.refreshRecords.clear();
      this.refreshRecords.set(id, record);
    }
    return record;
  }

  /** Drops the remembered record of a project whose revision moved on (findForRefresh). */
  forgetForRefresh(id: string): void {
    this.refreshRecords.delete(id);
  }

  private readonly refreshRecords = new Map<string, ProjectRecord>();

  /** Runs a write to the projects table (through the cache, on SQLite). */
  private change<T>(write: () => Promise<T>): Promise<T> {
    return this.cache ? this.cache.change(write) : write();
  }

  /** Every project, in the order they were created (the command line prints them all). */
  list(): Promise<Project[]> {
    return allPages((page) => this.listPage(page));
  }

  /**
   * Projects in the order they were created, a page at a time; with `search`, only those whose id
   * or name contains it, ASCII letters folded (GET /admin/projects?search=).
   */
  async listPage(page: PageRequest, search?: string): Promise<Page<Project>> {
    let query = this.db.selectFrom('projects').selectAll();
    if (search !== undefined && search !== '') {
      // LIKE's own characters are escaped, so that "_" and "%" are found as themselves.
      const pattern = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where((eb) => eb.or([sql<boolean>`lower(${eb.ref('id')}) like ${pattern} escape '\\'`, sql<boolean>`lower(${eb.ref('name')}) like ${pattern} escape '\\'`]));
    }
    if (page.after) query = query.where(after('created_at', 'id', 'asc', page.after));
    const rows = await query.orderBy('created_at').orderBy('id').limit(page.limit + 1).execute();
    return toPage(rows, page.limit, (row) => ({ at: row.created_at, id: row.id }), toProject);
  }

  /** Creates a project; throws ProjectAlreadyExists when the id is taken. */
  async create(input: NewProject): Promise<{ project: Project; clientSecret?: string }> {
    const now = this.clock.now();
    const clientSecret = input.confidential ? newClientSecret() : undefined;
    const id = input.id ?? this.ids.id().replace(/[^A-Za-z0-9_-]/g, '');
    const inserted = await this.change(() =>
      this.db
        .insertInto('projects')
        .values({
          id,
          name: input.name,
          redirect_uris: JSON.stringify(input.redirect_uris),
          secret_hash: clientSecret ? sha256(clientSecret) : null,
          // the defaults, then what the input sets
          registration_open: 1,
          code_ttl_seconds: null,
          access_token_ttl_seconds: null,
          refresh_token_ttl_seconds: null,
          session_max_seconds: null,
          allowed_origins: '[]',
          require_pkce: 1,
          login_methods: JSON.stringify(DEFAULT_LOGIN_METHODS),
          post_logout_redirect_uris: '[]',
          token_signing_alg: DEFAULT_SIGNING_ALG,
          require_verified_email: 0,
          require_mfa: 0,
          logo_url: null,
          brand_color: null,
          client_credentials: 0,
          service_scopes: '[]',
          admin_api: 0,
          backchannel_logout_uri: null,
          connections: '[]',
          ...columnsOf(input),
          created_at: now,
          updated_at: now,
          revision: newRevision(),
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (!inserted) throw ProjectAlreadyExists();
    return { project: toProject(inserted), ...(clientSecret ? { clientSecret } : {}) };
  }

  /**
   * Changes a project. The console's redirect URI is not the admins' to change: it follows the
   * issuer (ensureConsole), so that a bad edit cannot lock every admin out. Throws ConsoleRedirectUriFixed.
   */
  async update(id: string, changes: ProjectChanges): Promise<Project | undefined> {
    if (id === CONSOLE_PROJECT_ID && changes.redirect_uris !== undefined && !sameList(changes.redirect_uris, [this.consoleRedirectUri()])) {
      throw ConsoleRedirectUriFixed();
    }
    if (id === ACCOUNT_PROJECT_ID && changes.redirect_uris !== undefined && !sameList(changes.redirect_uris, [this.accountRedirectUri()])) {
      throw AccountRedirectUriFixed();
    }
    return this.write(id, changes);
  }

  private async write(id: string, changes: ProjectChanges): Promise<Project | undefined> {
    const row = await this.change(() =>
      this.db
        .updateTable('projects')
        .set({ ...columnsOf(changes), updated_at: this.clock.now(), revision: newRevision() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),
    );
    return row && toProject(row);
  }

  /** Deletes a project with its memberships, PINs, sessions and refresh tokens. */
  async delete(id: string): Promise<boolean> {
    return this.change(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) return false;
        await trx.deleteFrom('memberships').where('project_id', '=', id).execute();
        await trx.deleteFrom('pins').where('project_id', '=', id).execute();
        await trx.deleteFrom('refresh_tokens').where('project_id', '=', id).execute();
        await trx.deleteFrom('sessions').where('project_id', '=', id).execute();
        return true;
      }),
    );
  }

  /** Issues a new client secret (making the project confidential); the old one stops working. Throws NotFound. */
  async rotateSecret(id: string): Promise<string> {
    const clientSecret = newClientSecret();
    const result = await this.change(() =>
      this.db
        .updateTable('projects')
        .set({ secret_hash: sha256(clientSecret), updated_at: this.clock.now(), revision: newRevision() })
        .where('id', '=', id)
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) throw NotFound();
    return clientSecret;
  }

  /** SPEC: the console project's one redirect URI. */
  consoleRedirectUri(): string {
    return `${this.config.issuer}/console/callback`;
  }

  /** Where the console's sign-out sends the browser back to: the console itself. */
  consolePostLogoutRedirectUri(): string {
    return `${this.config.issuer}/console`;
  }

  /** The account page's project's one redirect URI. */
  accountRedirectUri(): string {
    return `${this.config.issuer}/account/callback`;
  }

  /**
   * Makes sure the built-in console project exists, with `<issuer>/console/callback` as its one
   * redirect URI (idempotent): a changed GATEHOUSE_ISSUER moves it on the next start, so the
   * admins can always sign in.
   */
  async ensureConsole(): Promise<void> {
    // Its sign-out (RP-initiated logout) comes back to the console's sign-in screen.
    await this.ensureBuiltIn({
      id: CONSOLE_PROJECT_ID,
      name: 'Gatehouse console',
      redirect_uris: [this.consoleRedirectUri()],
      post_logout_redirect_uris: [this.consolePostLogoutRedirectUri()],
      registration_open: false,
    });
  }

  /**
   * Makes sure the built-in account project exists, as ensureConsole does for the console. Its
   * registration is closed (the account page creates no accounts) and it offers no PIN (a PIN
   * names a device, not a person); every account may sign in to it all the same (login/admission.ts).
   */
  async ensureAccount(): Promise<void> {
    await this.ensureBuiltIn({
      id: ACCOUNT_PROJECT_ID,
      name: 'Gatehouse account',
      redirect_uris: [this.accountRedirectUri()],
      registration_open: false,
      login_methods: ['password', 'magic_link'],
    });
  }

  private async ensureBuiltIn(project: NewProject & { id: string }): Promise<void> {
    const created = await this.create(project).then(
      () => true,
      (error: unknown) => {
        if (!isError(error, ProjectAlreadyExists)) throw error;
        return false;
      },
    );
    if (created) return;
    const existing = await this.find(project.id);
    if (existing && !sameList(existing.project.redirect_uris, project.redirect_uris)) await this.write(project.id, { redirect_uris: project.redirect_uris });
    // A built-in project that names where its sign-out returns gets that list back too (the issuer moved).
    const logoutUris = project.post_logout_redirect_uris;
    if (existing && logoutUris !== undefined && !sameList(existing.project.post_logout_redirect_uris, logoutUris)) await this.write(project.id, { post_logout_redirect_uris: logoutUris });
  }

  /**
   * Whether a browser page of `origin` may call the project's token endpoints (CORS). The set is
   * computed once per version of the project's redirect URIs and allowed origins, not per request.
   */
  originAllowed(record: ProjectRecord, origin: string): boolean {
    const id = record.project.id;
    let known = this.origins.get(id);
    if (known?.key !== record.originsKey) {
      if (this.origins.size >= MAX_CACHED_PROJECTS) this.origins.clear();
      known = { key: record.originsKey, origins: projectOrigins(record.project.redirect_uris, record.project.allowed_origins) };
      this.origins.set(id, known);
    }
    return known.origins.has(origin);
  }

  private readonly origins = new Map<string, { key: string; origins: ReadonlySet<string> }>();

  /**
   * Whether some project allows `origin` (a CORS preflight names no project). `origin` must be
   * origin-shaped (isOriginShaped: no `%`, `_` or `\\` to escape). The database narrows the
   * projects to those whose stored lists hold an entry starting with it; projectOrigins decides.
   */
  async anyAllowsOrigin(origin: string): Promise<boolean> {
    const pattern = `%"${origin}%`;
    const rows = await this.db
      .selectFrom('projects')
      .select(['redirect_uris', 'allowed_origins'])
      .where(sql<boolean>`redirect_uris like ${pattern} or allowed_origins like ${pattern}`)
      .execute();
    return rows.some((row) => projectOrigins(JSON.parse(row.redirect_uris) as string[], JSON.parse(row.allowed_origins) as string[]).has(origin));
  }

  secretMatches(record: ProjectRecord, presented: string | undefined): boolean {
    if (record.secretHash === null) return true;
    return presented !== undefined && matchesHash(presented, record.secretHash);
  }

  lifetimes(project: Project): Lifetimes {
    return {
      codeMs: (project.code_ttl_seconds ?? this.config.codeTtlSeconds) * 1000,
      accessTokenSeconds: project.access_token_ttl_seconds ?? this.config.accessTokenTtlSeconds,
      refreshTokenMs: (project.refresh_token_ttl_seconds ?? this.config.refreshTokenTtlSeconds) * 1000,
      sessionMaxMs: (project.session_max_seconds ?? this.config.sessionMaxSeconds) * 1000,
    };
  }
}
