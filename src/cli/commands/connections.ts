// gatehouse connection create | list | show | update | delete: the upstream OpenID providers
// (docs/federation.md), as /admin/connections does. The client secret is read from the
// environment variable named by --client-secret-env (or standard input), never from an argument
// that `ps` would show, and never printed.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ConnectionChangesBody, NewConnectionBody } from '../../admin/schemas.ts';
import type { Connection, ConnectionChanges, NewConnection } from '../../federation/connections.ts';
import { CommandFailed, explain, stringOption, table, UsageError, type Command, type Values } from '../command.ts';

function describeConnection(connection: Connection): string {
  return [
    `id:            ${connection.id}`,
    `name:          ${connection.name}`,
    `issuer:        ${connection.issuer}`,
    `client id:     ${connection.client_id}`,
    `scopes:        ${connection.scopes}`,
    `redirect URI:  ${connection.redirect_uri}`,
    `created:       ${connection.created_at}`,
    `updated:       ${connection.updated_at}`,
  ].join('\n');
}

/** The secret from the named environment variable, or the first line of standard input with --client-secret-stdin. */
async function clientSecret(values: Values): Promise<string | undefined> {
  const name = stringOption(values, 'client-secret-env');
  if (values['client-secret-stdin'] === true) {
    if (name !== undefined) throw new UsageError('give --client-secret-env or --client-secret-stdin, not both');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
    if (line === '') throw new UsageError('--client-secret-stdin: standard input held no secret');
    return line;
  }
  if (name === undefined) return undefined;
  const value = process.env[name];
  if (value === undefined || value === '') throw new UsageError(`--client-secret-env: the environment variable ${name} is not set`);
  return value;
}

function checkShape<T>(schema: TSchema, body: Record<string, unknown>): T {
  const [problem] = Value.Errors(schema, body);
  if (problem) throw new UsageError(`${problem.instancePath.split('/')[1]?.replace(/_/g, '-') ?? 'the options'}: ${problem.message}`);
  return body as T;
}

const SECRET_OPTIONS = {
  'client-secret-env': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
} as const;

const SECRET_DETAILS = [
  '  --client-secret-env NAME   read the client secret from the environment variable NAME',
  '  --client-secret-stdin      read it from the first line of standard input',
];

export const connectionCreate: Command = {
  name: 'connection create',
  summary: 'Add an upstream OpenID provider people can sign in with. Its discovery document is fetched at once.',
  usage: 'gatehouse connection create --id ID --name NAME --issuer URL --client-id ID (--client-secret-env NAME | --client-secret-stdin) [--scopes "openid email profile"]',
  details: [
    'Options:',
    '  --id ID                    3-64 of A-Z a-z 0-9 _ -',
    '  --name NAME                shown on the button: "Continue with NAME"',
    '  --issuer URL               the provider\'s issuer (https; http only on a loopback address)',
    '  --client-id ID             the client id registered at the provider',
    ...SECRET_DETAILS,
    '  --scopes SCOPES            space-separated, openid among them (default: openid email profile)',
    'Register the printed redirect URI at the provider. Offer the connection with',
    '`gatehouse project update ID --connection CONNECTION`.',
  ].join('\n'),
  routes: ['POST /admin/connections'],
  required: ['id', 'name', 'issuer', 'client-id'],
  options: { id: { type: 'string' }, name: { type: 'string' }, issuer: { type: 'string' }, 'client-id': { type: 'string' }, scopes: { type: 'string' }, ...SECRET_OPTIONS },
  async run({ values, out, services, audit }) {
    const secret = await clientSecret(values);
    if (secret === undefined) throw new UsageError('--client-secret-env or --client-secret-stdin is required');
    const scopes = stringOption(values, 'scopes');
    const body = checkShape<NewConnection>(NewConnectionBody, {
      id: stringOption(values, 'id', true),
      name: stringOption(values, 'name', true),
      issuer: stringOption(values, 'issuer', true),
      client_id: stringOption(values, 'client-id', true),
      client_secret: secret,
      ...(scopes !== undefined ? { scopes } : {}),
    });
    const connection = await services.connections.create(body).catch(explain());
    await audit('connection.created', { detail: { connection_id: connection.id, issuer: connection.issuer } });
    out.result(connection, [`created connection ${connection.id}`, describeConnection(connection), '', `register this redirect URI at the provider: ${connection.redirect_uri}`].join('\n'));
  },
};

export const connectionList: Command = {
  name: 'connection list',
  summary: 'List the upstream OpenID providers.',
  usage: 'gatehouse connection list',
  routes: ['GET /admin/connections'],
  async run({ out, services }) {
    const connections = await services.connections.list();
    out.result({ connections }, table(['ID', 'NAME', 'ISSUER', 'CLIENT ID'], connections.map((c) => [c.id, c.name, c.issuer, c.client_id])));
  },
};

async function existing(services: Parameters<Command['run']>[0]['services'], id: string): Promise<Connection> {
  const connection = await services.connections.find(id);
  if (!connection) throw new CommandFailed(`no connection with id ${id}`);
  return connection;
}

export const connectionShow: Command = {
  name: 'connection show',
  summary: 'Show one upstream OpenID provider (never its secret).',
  usage: 'gatehouse connection show ID',
  routes: ['GET /admin/connections/:id'],
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const connection = await existing(services, positionals[0] ?? '');
    out.result(connection, describeConnection(connection));
  },
};

export const connectionUpdate: Command = {
  name: 'connection update',
  summary: 'Change an upstream OpenID provider, as PATCH /admin/connections/:id does; a new issuer is discovered again.',
  usage: 'gatehouse connection update ID [--name NAME] [--issuer URL] [--client-id ID] [--client-secret-env NAME | --client-secret-stdin] [--scopes SCOPES]',
  details: ['Options: those of `gatehouse connection create`; the ones not given are left as they are.', ...SECRET_DETAILS].join('\n'),
  routes: ['PATCH /admin/connections/:id'],
  positionals: ['ID'],
  options: { name: { type: 'string' }, issuer: { type: 'string' }, 'client-id': { type: 'string' }, scopes: { type: 'string' }, ...SECRET_OPTIONS },
  async run({ positionals, values, out, services, audit }) {
    const id = positionals[0] ?? '';
    const secret = await clientSecret(values);
    const given: Record<string, unknown> = {};
    for (const [option, name] of [['name', 'name'], ['issuer', 'issuer'], ['client-id', 'client_id'], ['scopes', 'scopes']] as const) {
      const value = stringOption(values, option);
      if (value !== undefined) given[name] = value;
    }
    if (secret !== undefined) given.client_secret = secret;
    if (Object.keys(given).length === 0) throw new UsageError(`nothing to change: give at least one option (see 'gatehouse connection update --help')`);
    const changes = checkShape<ConnectionChanges>(ConnectionChangesBody, given);
    await existing(services, id);
    const connection = await services.connections.update(id, changes).catch(explain());
    if (!connection) throw new CommandFailed(`no connection with id ${id}`);
    await audit('connection.updated', { detail: { connection_id: id, fields: Object.keys(changes) } });
    out.result(connection, [`updated connection ${id}`, describeConnection(connection)].join('\n'));
  },
};

export const connectionDelete: Command = {
  name: 'connection delete',
  summary: 'Delete an upstream OpenID provider and every link to it; projects stop offering it, people keep their accounts.',
  usage: 'gatehouse connection delete ID',
  routes: ['DELETE /admin/connections/:id'],
  positionals: ['ID'],
  async run({ positionals, out, services, audit }) {
    const id = positionals[0] ?? '';
    await existing(services, id);
    const { removed, links } = await services.connections.remove(id);
    if (!removed) throw new CommandFailed(`no connection with id ${id}`);
    for (const project of await services.projects.list()) {
      if (project.connections.includes(id)) await services.projects.update(project.id, { connections: project.connections.filter((c) => c !== id) });
    }
    await audit('connection.deleted', { detail: { connection_id: id, links_removed: links } });
    out.result({ deleted: id, links_removed: links }, `deleted connection ${id} (${links} linked account${links === 1 ? '' : 's'} unlinked)`);
  },
};
