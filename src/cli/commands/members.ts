// gatehouse member list | add | block | unblock | remove (the /admin/projects/:id/members routes),
// and their older names user block | unblock | remove (docs/decisions/0056).
import { addMembership } from '../../users/account-changes.ts';
import type { User } from '../../users/users.ts';
import { CommandFailed, listPages, nextPageLine, PAGING_DETAILS, PAGING_OPTIONS, requireProject, requireUser, stringOption, table, type Command, type Values } from '../command.ts';
import type { Services } from '../../services.ts';

const MEMBER_OPTIONS = {
  details: ['Options:', '  --project ID               the project', '  --user USER_ID_OR_EMAIL    the account, by id or email'].join('\n'),
  required: ['project', 'user'],
  options: { project: { type: 'string' }, user: { type: 'string' } },
} satisfies Pick<Command, 'details' | 'required' | 'options'>;

/** The project and the account that --project and --user name; both must exist. */
async function memberOf(values: Values, services: Services): Promise<{ projectId: string; user: User }> {
  const projectId = stringOption(values, 'project', true);
  const who = stringOption(values, 'user', true);
  await requireProject(services, projectId);
  return { projectId, user: await requireUser(services, who) };
}

export const memberList: Command = {
  name: 'member list',
  routes: ['GET /admin/projects/:id/members'],
  summary: "List a project's members, and which of them are blocked there.",
  usage: 'gatehouse member list --project ID [--limit N] [--cursor CURSOR]',
  details: ['Options:', '  --project ID             the project', ...PAGING_DETAILS, 'Without --limit or --cursor, every member.'].join('\n'),
  required: ['project'],
  options: { project: { type: 'string' }, ...PAGING_OPTIONS },
  async run({ values, out, services }) {
    const projectId = stringOption(values, 'project', true);
    await requireProject(services, projectId);
    const { items: members, next_cursor } = await listPages(values, (page) => services.users.membersPage(projectId, page));
    out.result(
      { members, next_cursor },
      members.length === 0
        ? `no members in ${projectId}`
        : [table(['USER ID', 'EMAIL', 'BLOCKED'], members.map((m) => [m.user_id, m.email, m.blocked ? 'yes' : 'no'])), ...nextPageLine(next_cursor)].join('\n'),
    );
  },
};

export const memberAdd: Command = {
  name: 'member add',
  routes: ['PUT /admin/projects/:id/members/:user_id'],
  summary: 'Make an account a member of a project (it may then sign in to a closed one). Adding a member again changes nothing, and never unblocks.',
  usage: 'gatehouse member add --project ID --user USER_ID_OR_EMAIL',
  ...MEMBER_OPTIONS,
  async run({ values, out, services, audit }) {
    const { projectId, user } = await memberOf(values, services);
    const joined = await addMembership(services, projectId, user.id);
    if (!joined) throw new CommandFailed(`no user ${user.id} or no project ${projectId}`);
    if (joined.added) await audit('admin.member.added', { projectId, detail: { user_id: user.id } });
    out.result(joined.member, joined.added ? `added ${user.email} to ${projectId}` : `${user.email} is already a member of ${projectId}${joined.member.blocked ? ' (blocked)' : ''}`);
  },
};

function blockCommand(group: 'member' | 'user', action: 'block' | 'unblock'): Command {
  const blocked = action === 'block';
  return {
    name: `${group} ${action}`,
    routes: [`POST /admin/projects/:id/members/:user_id/${action}`],
    summary: blocked
      ? 'Block a member in one project: logins there answer "Account blocked", and so do refreshes of their sessions.'
      : 'Lift a block: the member may log in again and their sessions refresh again.',
    usage: `gatehouse ${group} ${action} --project ID --user USER_ID_OR_EMAIL`,
    ...MEMBER_OPTIONS,
    async run({ values, out, services, audit }) {
      const { projectId, user } = await memberOf(values, services);
      // Sessions are kept on purpose: their refresh tokens answer "Account blocked" while the
      // block lasts and work again after an unblock.
      if (!(await services.users.setBlocked(projectId, user.id, blocked))) {
        throw new CommandFailed(`${user.email} is not a member of ${projectId}`);
      }
      await audit(blocked ? 'admin.member.blocked' : 'admin.member.unblocked', { projectId, detail: { user_id: user.id } });
      out.result({ user_id: user.id, email: user.email, blocked }, `${action}ed ${user.email} in ${projectId}`);
    },
  };
}

function removeCommand(group: 'member' | 'user'): Command {
  return {
    name: `${group} remove`,
    routes: ['DELETE /admin/projects/:id/members/:user_id'],
    summary: 'Remove a member from one project and end their sessions there; a closed project then refuses their logins and refreshes ("Not a member").',
    usage: `gatehouse ${group} remove --project ID --user USER_ID_OR_EMAIL`,
    ...MEMBER_OPTIONS,
    async run({ values, out, services, audit }) {
      const { projectId, user } = await memberOf(values, services);
      if (!(await services.users.removeMember(projectId, user.id))) throw new CommandFailed(`${user.email} is not a member of ${projectId}`);
      await audit('admin.member.removed', { projectId, detail: { user_id: user.id } });
      out.result({ user_id: user.id, email: user.email, removed: true }, `removed ${user.email} from ${projectId}; their sessions there have ended`);
    },
  };
}

export const memberBlock = blockCommand('member', 'block');
export const memberUnblock = blockCommand('member', 'unblock');
export const memberRemove = removeCommand('member');
export const userBlock = blockCommand('user', 'block');
export const userUnblock = blockCommand('user', 'unblock');
export const userRemove = removeCommand('user');
