// The command line's side of what the console added to the admin API (docs/console.md):
// gatehouse project search | audit show | user sessions | user sign-out-everywhere | user password-reset
import { allPages } from '../../storage/paging.ts';
import { mailResetLinkFor } from '../../admin/console-gap-routes.ts';
import type { Services } from '../../services.ts';
import type { User } from '../../users/users.ts';
import { CommandFailed, requireProject, stringOption, table, type Command } from '../command.ts';

/** The account a command names: by its id, or by its email. */
async function requireUser(services: Services, idOrEmail: string): Promise<User> {
  const record = idOrEmail.includes('@') ? await services.users.findByEmail(idOrEmail) : await services.users.find(idOrEmail);
  if (!record) throw new CommandFailed(`no user ${idOrEmail}`);
  return record.user;
}

const USER_DETAILS = '  USER   the account: its id, or its email';

export const projectSearch: Command = {
  name: 'project search',
  summary: 'List the projects whose id or name contains TEXT (letters compared without case).',
  usage: 'gatehouse project search TEXT',
  positionals: ['text'],
  routes: ['GET /admin/projects'],
  async run({ positionals, out, services }) {
    const text = positionals[0] ?? '';
    const projects = await allPages((page) => services.projects.listPage(page, text));
    out.result({ projects }, projects.length === 0 ? `no project's id or name contains ${text}` : table(['ID', 'NAME', 'CONFIDENTIAL'], projects.map((p) => [p.id, p.name, p.confidential ? 'yes' : 'no'])));
  },
};

export const auditShow: Command = {
  name: 'audit show',
  summary: 'Show one audit event by its id.',
  usage: 'gatehouse audit show EVENT_ID',
  positionals: ['event_id'],
  routes: ['GET /admin/audit/:id'],
  async run({ positionals, out, services }) {
    const id = positionals[0] ?? '';
    const event = await services.audit.find(id);
    if (!event) throw new CommandFailed(`no audit event with id ${id}`);
    const lines = [
      `id:         ${event.id}`,
      `at:         ${event.at}`,
      `type:       ${event.type}`,
      `outcome:    ${event.outcome}`,
      `project:    ${event.project_id ?? ''}`,
      `subject:    ${event.subject ?? ''}`,
      `ip:         ${event.ip ?? ''}`,
      `user agent: ${event.user_agent ?? ''}`,
      `detail:     ${event.detail === null ? '' : JSON.stringify(event.detail)}`,
    ];
    out.result(event, lines.join('\n'));
  },
};

export const userSessions: Command = {
  name: 'user sessions',
  summary: "List a user's live sessions in every project.",
  usage: 'gatehouse user sessions USER',
  details: USER_DETAILS,
  positionals: ['user'],
  routes: ['GET /admin/users/:id/sessions'],
  async run({ positionals, out, services }) {
    const user = await requireUser(services, positionals[0] ?? '');
    const sessions = await allPages((page) => services.sessions.listActivePageForUser(user.id, page));
    out.result(
      { sessions },
      sessions.length === 0 ? `${user.email} has no live sessions` : table(['ID', 'PROJECT', 'METHOD', 'CREATED', 'EXPIRES'], sessions.map((s) => [s.id, s.project_id, s.method, s.created_at, s.expires_at])),
    );
  },
};

export const userSignOutEverywhere: Command = {
  name: 'user sign-out-everywhere',
  summary: 'End every session of a user in every project, and every browser session: signed out everywhere.',
  usage: 'gatehouse user sign-out-everywhere USER',
  details: USER_DETAILS,
  positionals: ['user'],
  routes: ['DELETE /admin/users/:id/sessions'],
  async run({ positionals, out, services, audit }) {
    const user = await requireUser(services, positionals[0] ?? '');
    await services.sessions.revokeWhere({ userId: user.id });
    await services.browserSessions.endForUser(user.id);
    await audit('admin.user.sessions_ended', { detail: { user_id: user.id } });
    out.result({ user_id: user.id, signed_out: true }, `${user.email} is signed out everywhere`);
  },
};

export const userPasswordReset: Command = {
  name: 'user password-reset',
  summary: 'Mail a user a link to choose a new password (the mail of "Forgot password?").',
  usage: 'gatehouse user password-reset USER [--project ID]',
  details: [USER_DETAILS, '  --project ID   the app the mail names (default: Gatehouse); the link signs in nowhere'].join('\n'),
  positionals: ['user'],
  options: { project: { type: 'string' } },
  routes: ['POST /admin/users/:id/password-reset'],
  async run({ positionals, values, out, services, audit }) {
    const user = await requireUser(services, positionals[0] ?? '');
    const projectId = stringOption(values, 'project');
    const project = projectId !== undefined ? await requireProject(services, projectId) : undefined;
    const { expiresInSeconds } = await mailResetLinkFor(services, user, project);
    await audit('admin.user.password_reset_sent', { ...(project ? { projectId: project.id } : {}), detail: { user_id: user.id } });
    out.result({ user_id: user.id, sent: true, expires_in: expiresInSeconds }, `a reset link was mailed to ${user.email} (good for ${expiresInSeconds} seconds)`);
  },
};

export const CONSOLE_GAP_COMMANDS: readonly Command[] = [projectSearch, auditShow, userSessions, userSignOutEverywhere, userPasswordReset];
