// gatehouse project create | update | list | show
//
// The options are the admin API's fields under other names (OPTION_FIELDS). What a command
// gathers from them is checked as the API checks a body: the API's own schema (shapes and
// bounds, src/admin/schemas.ts), then the project rules (src/projects/project-rules.ts), then
// ProjectService stores it.
import { NewProjectBody, ProjectChangesBody } from '../../admin/schemas.ts';
import { isSigningAlg, SIGNING_ALGS } from '../../crypto/keys.ts';
import { NotFound, ProjectAlreadyExists } from '../../errors.ts';
import { checkNewProject, checkProjectChanges, requireOrdinaryProject } from '../../projects/project-rules.ts';
import { LOGIN_METHODS, PROJECT_ID_PATTERN, type NewProject, type Project, type ProjectChanges } from '../../projects/projects.ts';
import { asCommandError, checkShape, CommandFailed, explain, flag, listPages, nextPageLine, PAGING_DETAILS, PAGING_OPTIONS, requireProject, stringList, stringOption, table, UsageError, type Command, type Options, type Values } from '../command.ts';

const INDENT = '\n               ';

function describeProject(project: Project): string {
  return [
    `id:            ${project.id}`,
    `name:          ${project.name}`,
    `client:        ${project.confidential ? 'confidential (has a client secret)' : 'public'}`,
    `registration:  ${project.registration_open ? 'open' : 'closed'}`,
    `signing:       ${project.token_signing_alg}`,
    `PKCE:          ${project.require_pkce ? 'required' : 'optional (a confidential client)'}`,
    `sign-in:       ${project.login_methods.join(', ')}`,
    ...(project.require_verified_email ? ['email:         must be verified to sign in'] : []),
    ...(project.require_mfa ? ['second factor: required to sign in'] : []),
    ...(project.client_credentials ? [`service:       client_credentials, scopes: ${project.service_scopes.join(' ') || '(none)'}`] : []),
    ...(project.admin_api ? ['admin API:     its client_credentials tokens with the scope admin may use it'] : []),
    `redirect URIs: ${project.redirect_uris.join(INDENT)}`,
    ...(project.post_logout_redirect_uris.length > 0 ? [`after logout:  ${project.post_logout_redirect_uris.join(INDENT)}`] : []),
    ...(project.allowed_origins.length > 0 ? [`origins:       ${project.allowed_origins.join(INDENT)}`] : []),
    ...(project.access_token_ttl_seconds !== null ? [`access tokens: ${project.access_token_ttl_seconds} s`] : []),
    ...(project.refresh_token_ttl_seconds !== null ? [`refresh tokens: ${project.refresh_token_ttl_seconds} s`] : []),
    ...(project.code_ttl_seconds !== null ? [`codes:         ${project.code_ttl_seconds} s`] : []),
    ...(project.session_max_seconds !== null ? [`sessions:      at most ${project.session_max_seconds} s`] : []),
    ...(project.logo_url !== null ? [`logo:          ${project.logo_url}`] : []),
    ...(project.brand_color !== null ? [`colour:        ${project.brand_color}`] : []),
    ...(project.backchannel_logout_uri !== null ? [`logout tokens: ${project.backchannel_logout_uri}`] : []),
    ...(project.connections.length > 0 ? [`providers:     ${project.connections.join(', ')}`] : []),
    `created:       ${project.created_at}`,
    `updated:       ${project.updated_at}`,
  ].join('\n');
}

type Field = keyof NewProject | keyof ProjectChanges;

/** Each option of the two commands and the field of the admin API it sets. */
const OPTION_FIELDS = {
  name: 'name',
  'redirect-uri': 'redirect_uris',
  'post-logout-redirect-uri': 'post_logout_redirect_uris',
  'allowed-origin': 'allowed_origins',
  'login-method': 'login_methods',
  'signing-alg': 'token_signing_alg',
  'require-pkce': 'require_pkce',
  'require-verified-email': 'require_verified_email',
  'require-mfa': 'require_mfa',
  'client-credentials': 'client_credentials',
  'service-scopes': 'service_scopes',
  'admin-api': 'admin_api',
  'code-ttl': 'code_ttl_seconds',
  'access-token-ttl': 'access_token_ttl_seconds',
  'refresh-token-ttl': 'refresh_token_ttl_seconds',
  'session-max': 'session_max_seconds',
  'logo-url': 'logo_url',
  'brand-color': 'brand_color',
  'backchannel-logout-uri': 'backchannel_logout_uri',
  connection: 'connections',
} as const satisfies Record<string, Field>;

type SettingOption = keyof typeof OPTION_FIELDS;

const SETTING_OPTIONS = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'allowed-origin': { type: 'string', multiple: true },
  'login-method': { type: 'string', multiple: true },
  'signing-alg': { type: 'string' },
  'require-pkce': { type: 'string' },
  'require-verified-email': { type: 'string' },
  'require-mfa': { type: 'string' },
  'client-credentials': { type: 'string' },
  'service-scopes': { type: 'string' },
  'admin-api': { type: 'string' },
  'code-ttl': { type: 'string' },
  'access-token-ttl': { type: 'string' },
  'refresh-token-ttl': { type: 'string' },
  'session-max': { type: 'string' },
  'logo-url': { type: 'string' },
  'brand-color': { type: 'string' },
  'backchannel-logout-uri': { type: 'string' },
  connection: { type: 'string', multiple: true },
} satisfies Options;

const SETTING_DETAILS = [
  '  --redirect-uri URI              an allowed redirect URI (exact match); repeat for more',
  '  --post-logout-redirect-uri URI  where /logout may send the browser back to (exact match); repeat for more',
  '  --allowed-origin ORIGIN         an origin (https://app.example.com) whose pages may call /token, /revoke',
  '                                  and /userinfo besides those of the redirect URIs; repeat for more',
  `  --login-method METHOD           a way to sign in the project offers: ${LOGIN_METHODS.join(', ')}; repeat for`,
  '                                  more (default: all of them)',
  `  --signing-alg ALG               what its ID and access tokens are signed with: ${SIGNING_ALGS.join(' (default) or ')}`,
  '  --require-pkce true|false       false lets a confidential project leave out PKCE (default: true)',
  '  --require-verified-email true|false  true refuses sign-ins of accounts whose email is not verified',
  '                                  (403 Email not verified; default: false)',
  '  --require-mfa true|false        true makes every sign-in need a second factor (default: false)',
  '  --code-ttl SECONDS|default      how long an authorization code lives (at most 600)',
  '  --access-token-ttl SECONDS|default  how long an access token lives (at most 86400)',
  '  --refresh-token-ttl SECONDS|default  how long a refresh token lives',
  '  --session-max SECONDS|default   how long a session lasts at most, however often it is refreshed',
  '  --logo-url URL|none             the logo the hosted pages show (https; http only for localhost or',
  '                                  127.0.0.1); none removes it',
  '  --brand-color #RRGGBB|none      the colour of the pages\' primary button and links, where it contrasts',
  '                                  enough (else the default colour); none removes it',
  '  --client-credentials true|false true lets a confidential project get tokens of its own (grant_type=',
  '                                  client_credentials; default: false)',
  '  --service-scopes A,B            the scopes such a token may carry, comma-separated ("" for none)',
  '  --backchannel-logout-uri URI|none  where logout tokens are POSTed when a session ends (https; http',
  '                                  only on loopback); none: no back-channel logout',
  '  --admin-api true|false          true lets its client_credentials tokens with the scope admin use the',
  '                                  admin API (default: false)',
  '  --connection ID                 an upstream OpenID provider offered on its page (gatehouse connection',
  '                                  create); repeat for more',
];

/** A lifetime option: whole seconds, or `default` for the instance default (null). */
function lifetime(option: string, value: string): number | null {
  if (value === 'default') return null;
  if (!/^\d{1,12}$/.test(value)) throw new UsageError(`--${option} must be a number of seconds or "default"`);
  return Number(value);
}

/** The fields the setting options given set, in the admin API's names and types. */
function settingsOf(values: Values): Partial<Record<Field, unknown>> {
  const fields: Partial<Record<Field, unknown>> = {};
  for (const [option, field] of Object.entries(OPTION_FIELDS) as Array<[SettingOption, Field]>) {
    const value = values[option];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      fields[field] = stringList(values, option);
      continue;
    }
    if (option === 'service-scopes') {
      // Comma-separated; "" clears the list.
      fields[field] = String(value).split(',').map((scope) => scope.trim()).filter((scope) => scope !== '');
      continue;
    }
    const text = stringOption(values, option, true);
    if (option === 'require-pkce' || option === 'require-verified-email' || option === 'require-mfa' || option === 'client-credentials' || option === 'admin-api') {
      if (text !== 'true' && text !== 'false') throw new UsageError(`--${option} must be true or false`);
      fields[field] = text === 'true';
    } else if (option.endsWith('-ttl') || option === 'session-max') {
      fields[field] = lifetime(option, text);
    } else if (option === 'logo-url' || option === 'brand-color' || option === 'backchannel-logout-uri') {
      fields[field] = text === 'none' ? null : text;
    } else {
      fields[field] = text;
    }
  }
  // Friendlier words than the schema's for the two closed lists.
  const alg = fields.token_signing_alg;
  if (alg !== undefined && !isSigningAlg(alg)) throw new UsageError(`--signing-alg must be one of ${SIGNING_ALGS.join(', ')}`);
  const methods = (fields.login_methods ?? []) as string[];
  const unknown = methods.find((method) => !(LOGIN_METHODS as readonly string[]).includes(method));
  if (unknown !== undefined) throw new UsageError(`--login-method must be one of ${LOGIN_METHODS.join(', ')} (not ${unknown})`);
  return fields;
}

/** The project rules: a refused value is a usage error here, a missing project a failure. */
function ruled(id: string) {
  return explain([NotFound, `no project with id ${id}`]);
}

export const projectCreate: Command = {
  name: 'project create',
  routes: ['POST /admin/projects'],
  summary: 'Create a project (an OAuth client). A confidential project gets a client secret, printed once.',
  usage: [
    'gatehouse project create --name NAME --redirect-uri URI [--redirect-uri URI2 …] [--id ID] [--confidential] [--closed]',
    '[--signing-alg ES256|RS256] [--post-logout-redirect-uri URI …] [--allowed-origin ORIGIN …]',
    '[--login-method METHOD …] [--require-pkce true|false] [--require-verified-email true|false] [--require-mfa true|false]',
    '[--code-ttl S] [--access-token-ttl S] [--refresh-token-ttl S] [--session-max S]',
    '[--logo-url URL] [--brand-color #RRGGBB]',
    '[--client-credentials true|false] [--service-scopes A,B] [--admin-api true|false] [--backchannel-logout-uri URI|none] [--connection ID …]',
  ].join('\n'),
  details: [
    'Options:',
    '  --name NAME                     display name',
    '  --id ID                         the client_id (3-64 of A-Z a-z 0-9 _ -); generated when omitted',
    '  --confidential                  give the project a client secret (shown once, stored as a hash)',
    '  --closed                        registration closed: only existing members may log in',
    ...SETTING_DETAILS,
    'The values are checked by the rules of the admin API (POST /admin/projects).',
  ].join('\n'),
  required: ['name', 'redirect-uri'],
  options: { ...SETTING_OPTIONS, id: { type: 'string' }, confidential: { type: 'boolean' }, closed: { type: 'boolean' } },
  async run({ values, out, services, audit }) {
    const id = stringOption(values, 'id');
    if (id !== undefined && !PROJECT_ID_PATTERN.test(id)) throw new UsageError('--id must be 3-64 characters of A-Z a-z 0-9 _ -');
    const body = checkShape<NewProject>(NewProjectBody, {
      ...settingsOf(values),
      ...(id !== undefined ? { id } : {}),
      confidential: flag(values, 'confidential'),
      registration_open: !flag(values, 'closed'),
    }, OPTION_FIELDS);
    let input: NewProject;
    try {
      await services.connections.checkOffered(body.connections);
      input = checkNewProject(body);
    } catch (error) {
      throw asCommandError(error);
    }
    const { project, clientSecret } = await services.projects
      .create(input)
      .catch(explain([ProjectAlreadyExists, `a project with id ${id ?? '(generated)'} already exists`]));
    await audit('admin.project.created', { projectId: project.id, detail: { confidential: project.confidential } });
    out.result(
      { ...project, ...(clientSecret !== undefined ? { client_secret: clientSecret } : {}) },
      [
        `created project ${project.id}`,
        describeProject(project),
        ...(clientSecret !== undefined ? ['', `client secret: ${clientSecret}`, '(shown this once; only its hash is kept)'] : []),
      ].join('\n'),
    );
  },
};

export const projectUpdate: Command = {
  name: 'project update',
  routes: ['PATCH /admin/projects/:id'],
  summary: "Change a project's settings, as PATCH /admin/projects/:id does; the options not given are left as they are.",
  usage: [
    'gatehouse project update ID [--name NAME] [--redirect-uri URI …] [--post-logout-redirect-uri URI … | --no-post-logout-redirect-uris]',
    '[--allowed-origin ORIGIN … | --no-allowed-origins] [--open | --closed] [--signing-alg ES256|RS256]',
    '[--require-pkce true|false] [--require-verified-email true|false] [--require-mfa true|false] [--login-method METHOD …] [--code-ttl S] [--access-token-ttl S]',
    '[--refresh-token-ttl S] [--session-max S] [--logo-url URL|none] [--brand-color #RRGGBB|none]',
    '[--client-credentials true|false] [--service-scopes A,B] [--admin-api true|false] [--backchannel-logout-uri URI|none] [--connection ID … | --no-connections]',
  ].join('\n'),
  details: [
    'Options (a list given replaces the whole list):',
    '  --name NAME                     display name',
    ...SETTING_DETAILS,
    '  --no-post-logout-redirect-uris  remove every post-logout redirect URI',
    '  --no-allowed-origins            remove every allowed origin',
    '  --no-connections                offer no upstream provider',
    '  --open | --closed               registration open to anyone, or only existing members may log in',
    '"default" puts a lifetime back to the instance default. The values are checked by the rules',
    'of the admin API; the change is in the audit log as admin.project.updated.',
  ].join('\n'),
  positionals: ['ID'],
  options: {
    ...SETTING_OPTIONS,
    'no-post-logout-redirect-uris': { type: 'boolean' },
    'no-allowed-origins': { type: 'boolean' },
    'no-connections': { type: 'boolean' },
    open: { type: 'boolean' },
    closed: { type: 'boolean' },
  },
  async run({ positionals, values, out, services, audit }) {
    const id = positionals[0] ?? '';
    const fields = settingsOf(values);
    for (const [cleared, option, field] of [
      ['no-post-logout-redirect-uris', 'post-logout-redirect-uri', 'post_logout_redirect_uris'],
      ['no-allowed-origins', 'allowed-origin', 'allowed_origins'],
      ['no-connections', 'connection', 'connections'],
    ] as const) {
      if (!flag(values, cleared)) continue;
      if (fields[field] !== undefined) throw new UsageError(`give --${option} or --${cleared}, not both`);
      fields[field] = [];
    }
    if (flag(values, 'open') && flag(values, 'closed')) throw new UsageError('give --open or --closed, not both');
    if (flag(values, 'open') || flag(values, 'closed')) fields.registration_open = flag(values, 'open');
    if (Object.keys(fields).length === 0) throw new UsageError(`nothing to change: give at least one option (see 'gatehouse project update --help')`);
    const body = checkShape<ProjectChanges>(ProjectChangesBody, fields, OPTION_FIELDS);
    await requireProject(services, id);
    await services.connections.checkOffered(body.connections).catch(ruled(id));
    const changes = await checkProjectChanges(services.projects, id, body).catch(ruled(id));
    const project = await services.projects.update(id, changes).catch(ruled(id));
    if (!project) throw new CommandFailed(`no project with id ${id}`);
    await audit('admin.project.updated', { projectId: id, detail: { fields: Object.keys(body) } });
    out.result(project, [`updated project ${id}`, describeProject(project)].join('\n'));
  },
};

export const projectList: Command = {
  name: 'project list',
  routes: ['GET /admin/projects'],
  summary: 'List the projects, oldest first.',
  usage: 'gatehouse project list [--limit N] [--cursor CURSOR]',
  details: ['Options:', ...PAGING_DETAILS, 'Without --limit or --cursor, every project.'].join('\n'),
  options: { ...PAGING_OPTIONS },
  async run({ values, out, services }) {
    const { items: projects, next_cursor } = await listPages(values, (page) => services.projects.listPage(page));
    out.result(
      { projects, next_cursor },
      [
        table(
          ['ID', 'NAME', 'CLIENT', 'REGISTRATION', 'REDIRECT URIS'],
          projects.map((p) => [p.id, p.name, p.confidential ? 'confidential' : 'public', p.registration_open ? 'open' : 'closed', p.redirect_uris.join(' ')]),
        ),
        ...nextPageLine(next_cursor),
      ].join('\n'),
    );
  },
};

export const projectShow: Command = {
  name: 'project show',
  routes: ['GET /admin/projects/:id'],
  summary: 'Show one project.',
  usage: 'gatehouse project show ID',
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const project = await requireProject(services, positionals[0] ?? '');
    out.result(project, describeProject(project));
  },
};

export const projectDelete: Command = {
  name: 'project delete',
  routes: ['DELETE /admin/projects/:id'],
  summary: 'Delete a project with its memberships, PINs and sessions: its refresh tokens stop working. Not the console or account project.',
  usage: 'gatehouse project delete ID',
  positionals: ['ID'],
  async run({ positionals, out, services, audit }) {
    const id = positionals[0] ?? '';
    try {
      requireOrdinaryProject(id);
    } catch (error) {
      throw asCommandError(error);
    }
    if (!(await services.projects.delete(id))) throw new CommandFailed(`no project with id ${id}`);
    await audit('admin.project.deleted', { projectId: id });
    out.result({ id, deleted: true }, `deleted project ${id}`);
  },
};

export const projectRotateSecret: Command = {
  name: 'project rotate-secret',
  routes: ['POST /admin/projects/:id/secret'],
  summary: 'Give a project a new client secret, printed once; the old one stops working at once. Not the console or account project.',
  usage: 'gatehouse project rotate-secret ID',
  details: 'A public project becomes confidential: it then has to send the secret (only its hash is kept).',
  positionals: ['ID'],
  async run({ positionals, out, services, audit }) {
    const id = positionals[0] ?? '';
    await requireProject(services, id);
    let clientSecret: string;
    try {
      requireOrdinaryProject(id);
      clientSecret = await services.projects.rotateSecret(id);
    } catch (error) {
      throw asCommandError(error, [[NotFound, `no project with id ${id}`]]);
    }
    const project = await requireProject(services, id);
    await audit('admin.project.secret_rotated', { projectId: id });
    out.result({ ...project, client_secret: clientSecret }, [`new client secret of ${id}: ${clientSecret}`, '(shown this once; only its hash is kept; the old one no longer works)'].join('\n'));
  },
};
