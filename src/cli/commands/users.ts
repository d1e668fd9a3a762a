// gatehouse admin create, gatehouse user block | unblock
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkPassword } from '../../users/password-policy.ts';
import { CONSOLE_PROJECT_ID } from '../../projects/projects.ts';
import type { Services } from '../../services.ts';
import { type User } from '../../users/users.ts';
import { CommandFailed, flag, stringOption, UsageError, type Command, type Values } from '../command.ts';
import { plainEmail } from '../../users/email.ts';
import { PASSWORD_REJECTIONS } from '../../users/password-policy.ts';
import { EmailAlreadyRegistered } from '../../errors.ts';
import { explain } from '../command.ts';

/** 144 random bits, url-safe: 24 characters nobody has to type often. */
function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

function passwordFromStdin(): string {
  // One line from stdin (a pipe or a file), without its line ending.
  const text = readFileSync(0, 'utf8');
  return text.replace(/\r?\n$/, '');
}

export const adminCreate: Command = {
  name: 'admin create',
  summary: 'Create an administrator (a member of the console project). Without a password one is generated and printed once.',
  usage: 'gatehouse admin create --email EMAIL [--password PASSWORD | --password-stdin]',
  details: [
    'Options:',
    '  --email EMAIL       the administrator\'s email (the login name)',
    '  --password PASSWORD the password (it ends up in your shell history: prefer the next one)',
    '  --password-stdin    read the password from standard input (one line)',
    'With neither, a random password is generated and printed once.',
  ].join('\n'),
  required: ['email'],
  options: { email: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  async run({ values, out, services, audit }) {
    const typed = stringOption(values, 'email', true);
    const email = plainEmail(typed);
    if (email === undefined) throw new UsageError(`--email is not a valid address (local@domain, ASCII only): ${typed}`);
    const given = stringOption(values, 'password');
    if (given !== undefined && flag(values, 'password-stdin')) throw new UsageError('give --password or --password-stdin, not both');
    const chosen = flag(values, 'password-stdin') ? passwordFromStdin() : given;
    if (chosen !== undefined) {
      const check = checkPassword(chosen);
      if (!check.ok) throw new UsageError(`Invalid password: ${PASSWORD_REJECTIONS[check.reason]}`);
    }
    const password = chosen ?? generatePassword();
    if (await services.users.findByEmail(email)) throw new CommandFailed(`Email already registered: ${email}`);
    const user = await services.users
      .create({ email, password, is_admin: true, email_verified: true })
      .catch(explain([EmailAlreadyRegistered, `Email already registered: ${email}`]));
    // The admin API is used with a token of the console project, which is closed to strangers.
    await services.users.addMember(CONSOLE_PROJECT_ID, user.id);
    await audit('admin.user.created', { detail: { user_id: user.id, is_admin: true } });
    const generated = chosen === undefined;
    out.result(
      { ...user, ...(generated ? { password } : {}) },
      [`created admin ${user.email} (id ${user.id})`, ...(generated ? [`password: ${password}`, '(generated and shown this once; store it now)'] : [])].join('\n'),
    );
  },
};

async function findUser(services: Services, idOrEmail: string): Promise<User | undefined> {
  const byId = await services.users.find(idOrEmail);
  if (byId) return byId.user;
  return idOrEmail.includes('@') ? (await services.users.findByEmail(idOrEmail))?.user : undefined;
}

const MEMBER_OPTIONS = {
  details: ['Options:', '  --project ID               the project', '  --user USER_ID_OR_EMAIL    the member, by id or email'].join('\n'),
  required: ['project', 'user'],
  options: { project: { type: 'string' }, user: { type: 'string' } },
} satisfies Pick<Command, 'details' | 'required' | 'options'>;

/** The project and the account that --project and --user name; both must exist. */
async function memberOf(values: Values, services: Services): Promise<{ projectId: string; user: User }> {
  const projectId = stringOption(values, 'project', true);
  const who = stringOption(values, 'user', true).trim();
  if (!(await services.projects.find(projectId))) throw new CommandFailed(`no project with id ${projectId}`);
  const user = await findUser(services, who);
  if (!user) throw new CommandFailed(`no user ${who}`);
  return { projectId, user };
}

function blockCommand(action: 'block' | 'unblock'): Command {
  const blocked = action === 'block';
  return {
    name: `user ${action}`,
    summary: blocked
      ? 'Block a member in one project: logins there answer "Account blocked", and so do refreshes of their sessions.'
      : 'Lift a block: the member may log in again and their sessions refresh again.',
    usage: `gatehouse user ${action} --project ID --user USER_ID_OR_EMAIL`,
    ...MEMBER_OPTIONS,
    async run({ values, out, services, audit }) {
      const { projectId, user } = await memberOf(values, services);
      if (!(await services.users.setBlocked(projectId, user.id, blocked))) {
        throw new CommandFailed(`${user.email} is not a member of ${projectId}`);
      }
      await audit(blocked ? 'admin.member.blocked' : 'admin.member.unblocked', { projectId, detail: { user_id: user.id } });
      out.result({ user_id: user.id, email: user.email, blocked }, `${action}ed ${user.email} in ${projectId}`);
    },
  };
}

export const userBlock = blockCommand('block');
export const userUnblock = blockCommand('unblock');

export const userRemove: Command = {
  name: 'user remove',
  summary: 'Remove a member from one project and end their sessions there; a closed project then refuses their logins and refreshes ("Not a member").',
  usage: 'gatehouse user remove --project ID --user USER_ID_OR_EMAIL',
  ...MEMBER_OPTIONS,
  async run({ values, out, services, audit }) {
    const { projectId, user } = await memberOf(values, services);
    if (!(await services.users.removeMember(projectId, user.id))) throw new CommandFailed(`${user.email} is not a member of ${projectId}`);
    await audit('admin.member.removed', { projectId, detail: { user_id: user.id } });
    out.result({ user_id: user.id, email: user.email, removed: true }, `removed ${user.email} from ${projectId}; their sessions there have ended`);
  },
};
