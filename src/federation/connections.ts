// Connections (docs/federation.md): the upstream OpenID providers a project may offer, and the
// identities that link a provider's `sub` to an account. The client secret is sent back to the
// provider at every code exchange, so it is sealed under GATEHOUSE_SECRET_KEY, never hashed; no
// answer ever shows it again.
import type { Kysely, Selectable } from 'kysely';
import type { ServerMetadata } from 'openid-client';
import type { Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/sealed.ts';
import { InvalidRequest } from '../errors.ts';
import type { ConnectionsTable, Database } from '../storage/schema.ts';
import { discoverProvider, issuerProblem, UpstreamError, type UpstreamClient } from './upstream.ts';

export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;
export const DEFAULT_SCOPES = 'openid email profile';
export const MAX_CONNECTION_NAME_LENGTH = 100;
export const MAX_ISSUER_LENGTH = 2048;
export const MAX_CLIENT_ID_LENGTH = 512;
export const MAX_CLIENT_SECRET_LENGTH = 2048;
export const MAX_SCOPES_LENGTH = 1024;
/** RFC 6749 §3.3: a scope-token is printable ASCII without space, `"` or `\\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

export interface Connection {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  scopes: string;
  /** what to register at the provider: `<issuer of Gatehouse>/connections/<id>/callback` */
  redirect_uri: string;
  created_at: string;
  updated_at: string;
}

export interface NewConnection {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  scopes?: string | undefined;
}

export type ConnectionChanges = Partial<Omit<NewConnection, 'id'>>;

export interface Identity {
  connection_id: string;
  sub: string;
  user_id: string;
  email: string | null;
  created_at: number;
  last_used_at: number | null;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkText(name: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > max || CONTROL.test(trimmed)) throw InvalidRequest({ detail: `${name} must be 1 to ${max} characters, without control characters` });
  return trimmed;
}

/** Space-separated scope tokens, `openid` among them, each once. Throws 400 Invalid request. */
export function checkScopes(scopes: string): string {
  const list = scopes.split(' ').filter(Boolean);
  if (scopes.length > MAX_SCOPES_LENGTH || list.some((scope) => !SCOPE_TOKEN.test(scope))) throw InvalidRequest({ detail: 'scopes must be space-separated scope tokens' });
  if (!list.includes('openid')) throw InvalidRequest({ detail: 'scopes must include openid' });
  if (new Set(list).size !== list.length) throw InvalidRequest({ detail: 'scopes lists a scope twice' });
  return list.join(' ');
}

function checkIssuer(issuer: string): string {
  const problem = issuer.length > MAX_ISSUER_LENGTH ? `issuer must be at most ${MAX_ISSUER_LENGTH} characters` : issuerProblem(issuer);
  if (problem) throw InvalidRequest({ detail: problem });
  return issuer;
}

/** The discovery document of an issuer, or 400 Invalid request saying why there is none. */
async function discovered(issuer: string): Promise<ServerMetadata> {
  try {
    return await discoverProvider(issuer);
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    throw InvalidRequest({ detail: `issuer: the discovery of ${issuer}/.well-known/openid-configuration failed: ${error.message}` });
  }
}

/** The row a sealed secret belongs to (its associated data). */
function secretRow(id: string): string {
  return `connections:${id}`;
}

export class ConnectionService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly secretBox: SecretBox,
    private readonly issuer: string,
  ) {}

  /** Where the provider sends the person back to. */
  redirectUri(id: string): string {
    return `${this.issuer}/connections/${id}/callback`;
  }

  private toConnection(row: Selectable<ConnectionsTable>): Connection {
    return {
      id: row.id,
      name: row.name,
      issuer: row.issuer,
      client_id: row.client_id,
      scopes: row.scopes,
      redirect_uri: this.redirectUri(row.id),
      created_at: new Date(row.created_at).toISOString(),
      updated_at: new Date(row.updated_at).toISOString(),
    };
  }

  /** Checks the fields, fetches the provider's discovery document, stores the connection. Throws 400 Invalid request, 409 when the id is taken. */
  async create(input: NewConnection): Promise<Connection> {
    if (!CONNECTION_ID_PATTERN.test(input.id)) throw InvalidRequest({ detail: 'id must be 3 to 64 characters of A-Z, a-z, 0-9, _ and -' });
    const name = checkText('name', input.name, MAX_CONNECTION_NAME_LENGTH);
    const issuer = checkIssuer(input.issuer);
    const clientId = checkText('client_id', input.client_id, MAX_CLIENT_ID_LENGTH);
    const secret = checkText('client_secret', input.client_secret, MAX_CLIENT_SECRET_LENGTH);
    const scopes = checkScopes(input.scopes ?? DEFAULT_SCOPES);
    if (await this.find(input.id)) throw InvalidRequest({ detail: `a connection ${input.id} already exists` });
    const metadata = await discovered(issuer);
    const now = this.clock.now();
    const row: Selectable<ConnectionsTable> = {
      id: input.id,
      name,
      issuer,
      client_id: clientId,
      client_secret: this.secretBox.seal(secret, secretRow(input.id)),
      scopes,
      metadata: JSON.stringify(metadata),
      created_at: now,
      updated_at: now,
    };
    const inserted = await this.db.insertInto('connections').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) throw InvalidRequest({ detail: `a connection ${input.id} already exists` });
    return this.toConnection(row);
  }

  async list(): Promise<Connection[]> {
    const rows = await this.db.selectFrom('connections').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map((row) => this.toConnection(row));
  }

  async find(id: string): Promise<Connection | undefined> {
    if (!CONNECTION_ID_PATTERN.test(id)) return undefined;
    const row = await this.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toConnection(row);
  }

  /** The connection with what talking to the provider needs (the secret opened). */
  async client(id: string): Promise<{ connection: Connection; client: UpstreamClient } | undefined> {
    if (!CONNECTION_ID_PATTERN.test(id)) return undefined;
    const row = await this.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return {
      connection: this.toConnection(row),
      client: {
        issuer: row.issuer,
        clientId: row.client_id,
        clientSecret: this.secretBox.open(row.client_secret, secretRow(row.id), `the client secret of connection ${row.id}`),
        metadata: JSON.parse(row.metadata) as ServerMetadata,
      },
    };
  }

  /** Changes the fields given (a new issuer is discovered again); undefined when there is none. Throws 400 Invalid request. */
  async update(id: string, changes: ConnectionChanges): Promise<Connection | undefined> {
    const current = await this.find(id);
    if (!current) return undefined;
    const set: Partial<Selectable<ConnectionsTable>> = { updated_at: this.clock.now() };
    if (changes.name !== undefined) set.name = checkText('name', changes.name, MAX_CONNECTION_NAME_LENGTH);
    if (changes.client_id !== undefined) set.client_id = checkText('client_id', changes.client_id, MAX_CLIENT_ID_LENGTH);
    if (changes.client_secret !== undefined) set.client_secret = this.secretBox.seal(checkText('client_secret', changes.client_secret, MAX_CLIENT_SECRET_LENGTH), secretRow(id));
    if (changes.scopes !== undefined) set.scopes = checkScopes(changes.scopes);
    if (changes.issuer !== undefined) {
      set.issuer = checkIssuer(changes.issuer);
      set.metadata = JSON.stringify(await discovered(set.issuer));
    }
    await this.db.updateTable('connections').set(set).where('id', '=', id).execute();
    return this.find(id);
  }

  /** Deletes the connection and every link to it (people keep their accounts); false when there was none. */
  async remove(id: string): Promise<{ removed: boolean; links: number }> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('connections').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return { removed: false, links: 0 };
      const links = await trx.deleteFrom('identities').where('connection_id', '=', id).executeTakeFirst();
      return { removed: true, links: Number(links.numDeletedRows) };
    });
  }

  /** federation.md: a project's `connections` name existing connections only; else 400 Invalid request. */
  async checkOffered(ids: readonly string[] | undefined): Promise<void> {
    if (ids === undefined || ids.length === 0) return;
    const found = new Set((await this.db.selectFrom('connections').select('id').where('id', 'in', [...ids]).execute()).map((row) => row.id));
    const unknown = ids.filter((id) => !found.has(id));
    if (unknown.length > 0) throw InvalidRequest({ detail: `unknown connections: ${unknown.join(', ')}` });
  }

  /** The connections of `ids` that exist, in that order (a project's buttons). */
  async named(ids: readonly string[]): Promise<Connection[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('connections').selectAll().where('id', 'in', [...ids]).execute();
    const byId = new Map(rows.map((row) => [row.id, this.toConnection(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  // Identities: (connection, provider sub) → account, unique per connection.

  async identity(connectionId: string, sub: string): Promise<Identity | undefined> {
    return this.db.selectFrom('identities').selectAll().where('connection_id', '=', connectionId).where('sub', '=', sub).executeTakeFirst();
  }

  async identitiesOf(userId: string): Promise<Identity[]> {
    return this.db.selectFrom('identities').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('connection_id').execute();
  }

  /** Links (connection, sub) to the account; false when that pair is already linked (to anyone). */
  async link(input: { connectionId: string; sub: string; userId: string; email: string | null }): Promise<boolean> {
    const result = await this.db
      .insertInto('identities')
      .values({ connection_id: input.connectionId, sub: input.sub, user_id: input.userId, email: input.email, created_at: this.clock.now(), last_used_at: this.clock.now() })
      .onConflict((oc) => oc.columns(['connection_id', 'sub']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async touch(connectionId: string, sub: string, email: string | null): Promise<void> {
    await this.db.updateTable('identities').set({ last_used_at: this.clock.now(), ...(email !== null ? { email } : {}) }).where('connection_id', '=', connectionId).where('sub', '=', sub).execute();
  }

  /** Removes the account's links to the connection; answers how many went. */
  async unlink(userId: string, connectionId: string): Promise<number> {
    const result = await this.db.deleteFrom('identities').where('user_id', '=', userId).where('connection_id', '=', connectionId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
