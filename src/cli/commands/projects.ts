// gatehouse project create | list | show
import { HttpError } from '../../errors.ts';
import { checkRedirectUris } from '../../admin/schemas.ts';
import { PROJECT_ID_PATTERN, type Project } from '../../projects/projects.ts';
import { CommandFailed, flag, stringList, stringOption, table, UsageError, type Command } from '../command.ts';

function describeProject(project: Project): string {
  return [
    `id:            ${project.id}`,
    `name:          ${project.name}`,
    `client:        ${project.confidential ? 'confidential (has a client secret)' : 'public'}`,
    `registration:  ${project.registration_open ? 'open' : 'closed'}`,
    `redirect URIs: ${project.redirect_uris.join('\n               ')}`,
    ...(project.access_token_ttl_seconds !== null ? [`access tokens: ${project.access_token_ttl_seconds} s`] : []),
    ...(project.refresh_token_ttl_seconds !== null ? [`refresh tokens: ${project.refresh_token_ttl_seconds} s`] : []),
    ...(project.code_ttl_seconds !== null ? [`codes:         ${project.code_ttl_seconds} s`] : []),
    `created:       ${project.created_at}`,
  ].join('\n');
}

export const projectCreate: Command = {
  name: 'project create',
  summary: 'Create a project (an OAuth client). A confidential project gets a client secret, printed once.',
  usage: 'gatehouse project create --name NAME --redirect-uri URI [--redirect-uri URI2 …] [--id ID] [--confidential] [--closed]',
  details: [
    'Options:',
    '  --name NAME          display name',
    '  --redirect-uri URI   an allowed redirect URI (exact match); repeat for more',
    '  --id ID              the client_id (3-64 of A-Z a-z 0-9 _ -); generated when omitted',
    '  --confidential       give the project a client secret (shown once, stored as a hash)',
    '  --closed             registration closed: only existing members may log in',
  ].join('\n'),
  required: ['name', 'redirect-uri'],
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    id: { type: 'string' },
    confidential: { type: 'boolean' },
    closed: { type: 'boolean' },
  },
  async run({ values, out, services, audit }) {
    const name = stringOption(values, 'name', true).trim();
    if (name.length > 200) throw new UsageError('--name must be at most 200 characters');
    const redirectUris = stringList(values, 'redirect-uri');
    if (redirectUris.length === 0) throw new UsageError('at least one --redirect-uri is required');
    if (new Set(redirectUris).size !== redirectUris.length) throw new UsageError('--redirect-uri values must differ');
    try {
      checkRedirectUris(redirectUris);
    } catch (error) {
      if (error instanceof HttpError) throw new UsageError(String(error.extra.detail ?? error.message));
      throw error;
    }
    const id = stringOption(values, 'id');
    if (id !== undefined && !PROJECT_ID_PATTERN.test(id)) throw new UsageError('--id must be 3-64 characters of A-Z a-z 0-9 _ -');
    const created = await services.projects.create({
      ...(id !== undefined ? { id } : {}),
      name,
      redirect_uris: redirectUris,
      confidential: flag(values, 'confidential'),
      registration_open: !flag(values, 'closed'),
    });
    if (!created) throw new CommandFailed(`a project with id ${id ?? '(generated)'} already exists`);
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
