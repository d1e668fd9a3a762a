// gatehouse admin create, gatehouse user block | unblock | remove | profile
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkPassword } from '../../users/password-policy.ts';
import { CONSOLE_PROJECT_ID } from '../../projects/projects.ts';
import type { Services } from '../../services.ts';
import { type User } from '../../users/users.ts';
import { CommandFailed, flag, requireProject, stringOption, UsageError, type Command, type Values } from '../command.ts';
import { plainEmail } from '../../users/email.ts';
import { PASSWORD_REJECTIONS } from '../../users/password-policy.ts';
import { EmailAlreadyRegistered } from '../../errors.ts';
import { asCommandError, explain } from '../command.ts';
import { checkProfile, PROFILE_FIELDS, type ProfileChanges } from '../../users/profile.ts';

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
  routes: ['POST /admin/users', 'PUT /admin/projects/:id/members/:user_id'],
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
  await requireProject(services, projectId);
  const user = await findUser(services, who);
  if (!user) throw new CommandFailed(`no user ${who}`);
  return { projectId, user };
}

function blockCommand(action: 'block' | 'unblock'): Command {
  const blocked = action === 'block';
  return {
    name: `user ${action}`,
    routes: [`POST /admin/projects/:id/members/:user_id/${action}`],
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
  routes: ['DELETE /admin/projects/:id/members/:user_id'],
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

const PROFILE_OPTIONS = { name: 'name', 'given-name': 'given_name', 'family-name': 'family_name', picture: 'picture', locale: 'locale' } as const;

export const userProfile: Command = {
  name: 'user profile',
  routes: ['PATCH /admin/users/:id'],
  summary: 'Set or clear the profile claims of an account (released with the profile scope); with no option, show them.',
  usage: 'gatehouse user profile --user USER_ID_OR_EMAIL [--name NAME] [--given-name NAME] [--family-name NAME] [--picture HTTPS_URL] [--locale BCP47]',
  details: [
    'Options:',
    '  --user USER_ID_OR_EMAIL  the account, by id or email',
    '  --name, --given-name, --family-name NAME   1 to 200 characters',
    '  --picture HTTPS_URL      an https URL, at most 2048 characters',
    '  --locale TAG             a BCP 47 language tag (en, de-CH)',
    'An empty value ("") clears the claim.',
  ].join('\n'),
  required: ['user'],
  options: { user: { type: 'string' }, name: { type: 'string' }, 'given-name': { type: 'string' }, 'family-name': { type: 'string' }, picture: { type: 'string' }, locale: { type: 'string' } },
  async run({ values, out, services, audit }) {
    const who = stringOption(values, 'user', true).trim();
    const user = await findUser(services, who);
    if (!user) throw new CommandFailed(`no user ${who}`);
    const changes: ProfileChanges = {};
    for (const [option, field] of Object.entries(PROFILE_OPTIONS)) {
      // Not stringOption: an empty value is meaningful here (it clears the claim).
      const value = values[option];
      if (typeof value === 'string') changes[field] = value === '' ? null : value;
    }
    let shown = user;
    if (Object.keys(changes).length > 0) {
      try {
        checkProfile(changes);
      } catch (error) {
        throw asCommandError(error);
      }
      shown = (await services.users.update(user.id, changes)) ?? user;
      await audit('admin.user.updated', { detail: { user_id: user.id, fields: Object.keys(changes) } });
    }
    const profile = Object.fromEntries(PROFILE_FIELDS.map((field) => [field, shown[field]]));
    out.result({ user_id: shown.id, email: shown.email, ...profile }, PROFILE_FIELDS.map((field) => `${field}: ${shown[field] ?? '(not set)'}`).join('\n'));
  },
};
