// gatehouse project create | list | show
import { checkProjectName, PROJECT_ID_PATTERN, type Project } from '../../projects/projects.ts';
import { asCommandError, CommandFailed, flag, stringList, stringOption, table, UsageError, type Command } from '../command.ts';
import { checkRedirectUris } from '../../projects/redirect-uris.ts';
import { ProjectAlreadyExists } from '../../errors.ts';
import { isSigningAlg, SIGNING_ALGS } from '../../crypto/keys.ts';
import { explain } from '../command.ts';

function describeProject(project: Project): string {
  return [
    `id:            ${project.id}`,
    `name:          ${project.name}`,
    `client:        ${project.confidential ? 'confidential (has a client secret)' : 'public'}`,
    `registration:  ${project.registration_open ? 'open' : 'closed'}`,
    `signing:       ${project.token_signing_alg}`,
    ...(project.require_verified_email ? ['email:         must be verified to sign in'] : []),
    `redirect URIs: ${project.redirect_uris.join('\n               ')}`,
    ...(project.post_logout_redirect_uris.length > 0 ? [`after logout:  ${project.post_logout_redirect_uris.join('\n               ')}`] : []),
    ...(project.access_token_ttl_seconds !== null ? [`access tokens: ${project.access_token_ttl_seconds} s`] : []),
    ...(project.refresh_token_ttl_seconds !== null ? [`refresh tokens: ${project.refresh_token_ttl_seconds} s`] : []),
    ...(project.code_ttl_seconds !== null ? [`codes:         ${project.code_ttl_seconds} s`] : []),
    `created:       ${project.created_at}`,
  ].join('\n');
}

export const projectCreate: Command = {
  name: 'project create',
  summary: 'Create a project (an OAuth client). A confidential project gets a client secret, printed once.',
  usage: 'gatehouse project create --name NAME --redirect-uri URI [--redirect-uri URI2 …] [--id ID] [--confidential] [--closed] [--signing-alg ES256|RS256] [--post-logout-redirect-uri URI …] [--require-verified-email]',
  details: [
    'Options:',
    '  --name NAME          display name',
    '  --redirect-uri URI   an allowed redirect URI (exact match); repeat for more',
    '  --id ID              the client_id (3-64 of A-Z a-z 0-9 _ -); generated when omitted',
    '  --confidential       give the project a client secret (shown once, stored as a hash)',
    '  --closed             registration closed: only existing members may log in',
    '  --signing-alg ALG               what its ID and access tokens are signed with: ES256 (default) or RS256',
    '  --post-logout-redirect-uri URI  where /logout may send the browser back to (exact match); repeat for more',
    '  --require-verified-email        refuse sign-ins of accounts whose email is not verified (403 Email not verified)',
  ].join('\n'),
  required: ['name', 'redirect-uri'],
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    id: { type: 'string' },
    confidential: { type: 'boolean' },
    closed: { type: 'boolean' },
    'signing-alg': { type: 'string' },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    'require-verified-email': { type: 'boolean' },
  },
  async run({ values, out, services, audit }) {
    const redirectUris = stringList(values, 'redirect-uri');
    const postLogoutRedirectUris = stringList(values, 'post-logout-redirect-uri');
    let name: string;
    try {
      // The rules of the admin API: a refused value is a usage error here.
      name = checkProjectName(stringOption(values, 'name', true));
      checkRedirectUris(redirectUris);
      checkRedirectUris(postLogoutRedirectUris, { field: 'post_logout_redirect_uris', allowEmpty: true });
    } catch (error) {
      throw asCommandError(error);
    }
    const id = stringOption(values, 'id');
    if (id !== undefined && !PROJECT_ID_PATTERN.test(id)) throw new UsageError('--id must be 3-64 characters of A-Z a-z 0-9 _ -');
    const signingAlg = stringOption(values, 'signing-alg');
    if (signingAlg !== undefined && !isSigningAlg(signingAlg)) throw new UsageError(`--signing-alg must be one of ${SIGNING_ALGS.join(', ')}`);
    const created = await services.projects
      .create({
      ...(id !== undefined ? { id } : {}),
      name,
      redirect_uris: redirectUris,
      confidential: flag(values, 'confidential'),
      registration_open: !flag(values, 'closed'),
      ...(signingAlg !== undefined ? { token_signing_alg: signingAlg } : {}),
      post_logout_redirect_uris: postLogoutRedirectUris,
      require_verified_email: flag(values, 'require-verified-email'),
    })
      .catch(explain([ProjectAlreadyExists, `a project with id ${id ?? '(generated)'} already exists`]));
    const { project, clientSecret } = created;
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

export const projectList: Command = {
  name: 'project list',
  summary: 'List the projects.',
  usage: 'gatehouse project list',
  async run({ out, services }) {
    const projects = await services.projects.list();
    out.result(
      { projects },
      table(
        ['ID', 'NAME', 'CLIENT', 'REGISTRATION', 'REDIRECT URIS'],
        projects.map((p) => [p.id, p.name, p.confidential ? 'confidential' : 'public', p.registration_open ? 'open' : 'closed', p.redirect_uris.join(' ')]),
      ),
    );
  },
};

export const projectShow: Command = {
  name: 'project show',
  summary: 'Show one project.',
  usage: 'gatehouse project show ID',
  positionals: ['ID'],
  async run({ positionals, out, services }) {
    const id = positionals[0] ?? '';
    const record = await services.projects.find(id);
    if (!record) throw new CommandFailed(`no project with id ${id}`);
    out.result(record.project, describeProject(record.project));
  },
};
