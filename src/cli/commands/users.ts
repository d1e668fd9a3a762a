// gatehouse admin create, gatehouse user create | list | show | update | profile | delete | reset-mfa
// (the /admin/users routes). The member commands are in members.ts.
import { randomBytes } from 'node:crypto';
import { NewUserBody, UserChangesBody, UserQuery } from '../../admin/schemas.ts';
import { EmailAlreadyRegistered } from '../../errors.ts';
import { CONSOLE_PROJECT_ID } from '../../projects/projects.ts';
import { accountWithFactors, addMembership, changeAccount, checkNewAccount, deleteAccount, type AccountChanges, type NewAccount } from '../../users/account-changes.ts';
import { plainEmail } from '../../users/email.ts';
import { checkPassword, PASSWORD_REJECTIONS } from '../../users/password-policy.ts';
import { PROFILE_FIELDS, type ProfileChanges } from '../../users/profile.ts';
import type { User } from '../../users/users.ts';
import {
  asCommandError,
  booleanOption,
  checkShape,
  CommandFailed,
  explain,
  flag,
  listPages,
  nextPageLine,
  PAGING_DETAILS,
  PAGING_OPTIONS,
  requireUser,
  stringOption,
  table,
  UsageError,
  type Command,
  type CommandContext,
  type Options,
  type Values,
} from '../command.ts';

/** 144 random bits, url-safe: 24 characters nobody has to type often. */
function generatePassword(): string {
  return randomBytes(18).toString('base64url');
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
  async run(context) {
    const { values, out, services, audit } = context;
    const typed = stringOption(values, 'email', true);
    const email = plainEmail(typed);
    if (email === undefined) throw new UsageError(`--email is not a valid address (local@domain, ASCII only): ${typed}`);
    const chosen = passwordOf(context);
    if (chosen !== undefined) {
      const check = checkPassword(chosen);
      if (!check.ok) throw new UsageError(`Invalid password: ${PASSWORD_REJECTIONS[check.reason]}`);
    }
    const password = chosen ?? generatePassword();
    if (await services.users.findByEmail(email)) throw new CommandFailed(`Email already registered: ${email}`);
    const user = await services.users
      .create({ email, password, is_admin: true, email_verified: true })
      .catch(explain([EmailAlreadyRegistered, `Email already registered: ${email}`]));
    await audit('admin.user.created', { detail: { user_id: user.id, is_admin: true } });
    // The admin API is used with a token of the console project, which is closed to strangers.
    if ((await addMembership(services, CONSOLE_PROJECT_ID, user.id))?.added) {
      await audit('admin.member.added', { projectId: CONSOLE_PROJECT_ID, detail: { user_id: user.id } });
    }
    const generated = chosen === undefined;
    out.result(
      { ...user, ...(generated ? { password } : {}) },
      [`created admin ${user.email} (id ${user.id})`, ...(generated ? [`password: ${password}`, '(generated and shown this once; store it now)'] : [])].join('\n'),
    );
  },
};

/** --password or --password-stdin (never both); undefined with neither. */
function passwordOf({ values, stdinLine }: Pick<CommandContext, 'values' | 'stdinLine'>): string | undefined {
  const given = stringOption(values, 'password');
  if (given !== undefined && flag(values, 'password-stdin')) throw new UsageError('give --password or --password-stdin, not both');
  return flag(values, 'password-stdin') ? stdinLine() : given;
}

const PROFILE_OPTIONS = { name: 'name', 'given-name': 'given_name', 'family-name': 'family_name', picture: 'picture', locale: 'locale' } as const;
const PROFILE_OPTION_SPECS = {
  name: { type: 'string' },
  'given-name': { type: 'string' },
  'family-name': { type: 'string' },
  picture: { type: 'string' },
  locale: { type: 'string' },
} satisfies Options;
const PROFILE_DETAILS = [
  '  --name, --given-name, --family-name NAME   1 to 200 characters',
  '  --picture HTTPS_URL      an https URL, at most 2048 characters',
  '  --locale TAG             a BCP 47 language tag (en, de-CH)',
];

/** Each option of the user commands and the admin API field it sets. */
const USER_OPTION_FIELDS = {
  email: 'email',
  password: 'password',
  'password-stdin': 'password',
  'password-hash': 'password_hash',
  admin: 'is_admin',
  'email-verified': 'email_verified',
  ...PROFILE_OPTIONS,
} as const;

/** The profile options given; with `clearing`, an empty value ("") clears the claim (null). */
function profileOf(values: Values, clearing: boolean): ProfileChanges {
  const changes: ProfileChanges = {};
  for (const [option, field] of Object.entries(PROFILE_OPTIONS)) {
    const value = values[option];
    if (typeof value !== 'string') continue;
    if (value === '' && !clearing) throw new UsageError(`--${option} must not be empty`);
    changes[field] = value === '' ? null : value;
  }
  return changes;
}

/** The admin API's refusals in the command line's words, for the account `email` names. */
function accountRefusal(email: string | undefined) {
  return (error: unknown): never => {
    throw asCommandError(error, [[EmailAlreadyRegistered, `Email already registered${email !== undefined ? `: ${email}` : ''}`]]);
  };
}

function describeUser(user: User): string {
  return [
    `id:             ${user.id}`,
    `email:          ${user.email} (${user.email_verified ? 'verified' : 'not verified'})`,
    `admin:          ${user.is_admin ? 'yes' : 'no'}`,
    `password:       ${user.has_password ? 'set' : 'none (signs in by mailed link, or sets one by a reset)'}`,
    ...PROFILE_FIELDS.filter((field) => user[field] !== null).map((field) => `${`${field}:`.padEnd(15)} ${user[field] ?? ''}`),
    `created:        ${user.created_at}`,
    `updated:        ${user.updated_at}`,
  ].join('\n');
}

export const userCreate: Command = {
  name: 'user create',
  routes: ['POST /admin/users'],
  summary: 'Create an account, a member of no project yet (add it with `member add`), as POST /admin/users does.',
  usage: [
    'gatehouse user create --email EMAIL [--password-stdin | --password PASSWORD | --password-hash HASH] [--admin] [--email-verified]',
    '[--name NAME] [--given-name NAME] [--family-name NAME] [--picture HTTPS_URL] [--locale TAG]',
  ].join('\n'),
  details: [
    'Options:',
    '  --email EMAIL            the login name (a plain ASCII address)',
    '  --password-stdin         read the password from standard input (one line); it meets the password policy',
    '  --password PASSWORD      the same from the command line (it ends up in your shell history)',
    '  --password-hash HASH     a hash made elsewhere: bcrypt, Argon2id, Argon2i, scrypt or PBKDF2-SHA256',
    '                           (docs/accounts-import.md); the password then works as it did there',
    '  --admin                  set is_admin (to use the console they must also be a member of the console',
    '                           project: `member add --project console`, or use `admin create`)',
    '  --email-verified         the address is known to reach them',
    ...PROFILE_DETAILS,
    'Without a password the account signs in by mailed link (where a project offers it) or sets one by a reset.',
  ].join('\n'),
  required: ['email'],
  options: {
    email: { type: 'string' },
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    'password-hash': { type: 'string' },
    admin: { type: 'boolean' },
    'email-verified': { type: 'boolean' },
    ...PROFILE_OPTION_SPECS,
  },
  async run(context) {
    const { values, out, services, audit } = context;
    const email = stringOption(values, 'email', true);
    const password = passwordOf(context);
    const passwordHash = stringOption(values, 'password-hash');
    if (password !== undefined && passwordHash !== undefined) throw new UsageError('give a password or --password-hash, not both');
    const body = checkShape<NewAccount>(
      NewUserBody,
      {
        email,
        ...(password !== undefined ? { password } : {}),
        ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
        is_admin: flag(values, 'admin'),
        email_verified: flag(values, 'email-verified'),
        ...profileOf(values, false),
      },
      USER_OPTION_FIELDS,
    );
    let input: NewAccount;
    try {
      input = checkNewAccount(body);
    } catch (error) {
      throw asCommandError(error);
    }
    const user = await services.users.create(input).catch(accountRefusal(input.email));
    await audit('admin.user.created', { detail: { user_id: user.id, is_admin: user.is_admin } });
    out.result(user, [`created user ${user.email} (id ${user.id})`, describeUser(user)].join('\n'));
  },
};

export const userList: Command = {
  name: 'user list',
  routes: ['GET /admin/users'],
  summary: 'List the accounts, oldest first; with --email, the one filed under that address.',
  usage: 'gatehouse user list [--email EMAIL] [--limit N] [--cursor CURSOR]',
  details: ['Options:', '  --email EMAIL            only the account of this address (any case)', ...PAGING_DETAILS, 'Without --limit or --cursor, every account.'].join('\n'),
  options: { email: { type: 'string' }, ...PAGING_OPTIONS },
  async run({ values, out, services }) {
    const email = stringOption(values, 'email');
    if (email !== undefined) checkShape(UserQuery, { email }, { email: 'email' });
    const { items: users, next_cursor } = await listPages(values, (page) => services.users.listPage(page, email));
    out.result(
      { users, next_cursor },
      users.length === 0
        ? 'no accounts'
        : [
            table(
              ['ID', 'EMAIL', 'VERIFIED', 'ADMIN', 'PASSWORD', 'CREATED'],
              users.map((u) => [u.id, u.email, u.email_verified ? 'yes' : 'no', u.is_admin ? 'yes' : 'no', u.has_password ? 'yes' : 'no', u.created_at]),
            ),
            ...nextPageLine(next_cursor),
          ].join('\n'),
    );
  },
};

export const userShow: Command = {
  name: 'user show',
  routes: ['GET /admin/users/:id'],
  summary: 'Show one account (by id or email) and which second factors it has.',
  usage: 'gatehouse user show USER_ID_OR_EMAIL',
  positionals: ['USER_ID_OR_EMAIL'],
  async run({ positionals, out, services }) {
    const user = await requireUser(services, positionals[0] ?? '');
    const account = await accountWithFactors(services, user.id);
    if (!account) throw new CommandFailed(`no user ${positionals[0] ?? ''}`);
    const { mfa } = account;
    const factors = [mfa.totp ? 'authenticator app' : '', mfa.passkeys > 0 ? `${mfa.passkeys} passkey(s)` : '', mfa.recovery_codes_left > 0 ? `${mfa.recovery_codes_left} recovery codes left` : '']
      .filter((part) => part !== '');
    out.result(account, [describeUser(account), `second factor:  ${factors.join(', ') || 'none'}`].join('\n'));
  },
};

/** Applies `changes` to the account as PATCH /admin/users/:id does, records it and prints the account. */
async function updateAccount({ out, services, audit }: CommandContext, user: User, changes: AccountChanges): Promise<User> {
  const updated = await changeAccount(services, user.id, changes).catch(accountRefusal(changes.email));
  if (!updated) throw new CommandFailed(`no user ${user.id}`);
  // Field names only: a new password never reaches the log.
  await audit('admin.user.updated', { detail: { user_id: user.id, fields: Object.keys(changes) } });
  if (changes.password !== undefined) out.say('their sessions have ended, in every project and browser');
  return updated;
}

export const userUpdate: Command = {
  name: 'user update',
  routes: ['PATCH /admin/users/:id'],
  summary: 'Change an account (by id or email) as PATCH /admin/users/:id does; the options not given are left as they are.',
  usage: [
    'gatehouse user update USER_ID_OR_EMAIL [--email EMAIL] [--password-stdin | --password PASSWORD] [--admin true|false]',
    '[--email-verified true|false] [--name NAME] [--given-name NAME] [--family-name NAME] [--picture HTTPS_URL] [--locale TAG]',
  ].join('\n'),
  details: [
    'Options:',
    '  --email EMAIL            a new address; it counts as not verified unless --email-verified true',
    '  --password-stdin         a new password from standard input (one line): every session of the account ends',
    '  --password PASSWORD      the same from the command line (it ends up in your shell history)',
    '  --admin true|false       the admin flag (read on every admin API request: false takes effect at once)',
    '  --email-verified true|false',
    ...PROFILE_DETAILS,
    'An empty profile value ("") clears the claim.',
  ].join('\n'),
  positionals: ['USER_ID_OR_EMAIL'],
  options: {
    email: { type: 'string' },
    password: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    admin: { type: 'string' },
    'email-verified': { type: 'string' },
    ...PROFILE_OPTION_SPECS,
  },
  async run(context) {
    const { positionals, values, out, services } = context;
    const email = stringOption(values, 'email');
    const password = passwordOf(context);
    const isAdmin = booleanOption(values, 'admin');
    const verified = booleanOption(values, 'email-verified');
    const fields = {
      ...(email !== undefined ? { email } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(isAdmin !== undefined ? { is_admin: isAdmin } : {}),
      ...(verified !== undefined ? { email_verified: verified } : {}),
      ...profileOf(values, true),
    };
    if (Object.keys(fields).length === 0) throw new UsageError(`nothing to change: give at least one option (see 'gatehouse user update --help')`);
    const changes = checkShape<AccountChanges>(UserChangesBody, fields, USER_OPTION_FIELDS);
    const user = await requireUser(services, positionals[0] ?? '');
    const updated = await updateAccount(context, user, changes);
    out.result(updated, [`updated user ${updated.email}`, describeUser(updated)].join('\n'));
  },
};

export const userProfile: Command = {
  name: 'user profile',
  routes: ['PATCH /admin/users/:id'],
  summary: 'Set or clear the profile claims of an account (released with the profile scope); with no option, show them.',
  usage: 'gatehouse user profile --user USER_ID_OR_EMAIL [--name NAME] [--given-name NAME] [--family-name NAME] [--picture HTTPS_URL] [--locale BCP47]',
  details: ['Options:', '  --user USER_ID_OR_EMAIL  the account, by id or email', ...PROFILE_DETAILS, 'An empty value ("") clears the claim.'].join('\n'),
  required: ['user'],
  options: { user: { type: 'string' }, ...PROFILE_OPTION_SPECS },
  async run(context) {
    const { values, out, services } = context;
    const user = await requireUser(services, stringOption(values, 'user', true));
    const changes = profileOf(values, true);
    const shown = Object.keys(changes).length > 0 ? await updateAccount(context, user, checkShape<ProfileChanges>(UserChangesBody, changes, PROFILE_OPTIONS)) : user;
    const profile = Object.fromEntries(PROFILE_FIELDS.map((field) => [field, shown[field]]));
    out.result({ user_id: shown.id, email: shown.email, ...profile }, PROFILE_FIELDS.map((field) => `${field}: ${shown[field] ?? '(not set)'}`).join('\n'));
  },
};

export const userDelete: Command = {
  name: 'user delete',
  routes: ['DELETE /admin/users/:id'],
  summary: 'Delete an account (by id or email) and its memberships: its refresh tokens answer "User not found", its browser sessions end.',
  usage: 'gatehouse user delete USER_ID_OR_EMAIL',
  positionals: ['USER_ID_OR_EMAIL'],
  async run({ positionals, out, services, audit }) {
    const user = await requireUser(services, positionals[0] ?? '');
    if (!(await deleteAccount(services, user.id))) throw new CommandFailed(`no user ${user.id}`);
    await audit('admin.user.deleted', { detail: { user_id: user.id } });
    out.result({ id: user.id, email: user.email, deleted: true }, `deleted user ${user.email} (id ${user.id})`);
  },
};

export const userResetMfa: Command = {
  name: 'user reset-mfa',
  routes: ['DELETE /admin/users/:id/mfa'],
  summary: 'Remove every second factor of an account (a lost phone); where a project requires one, they add one again at their next sign-in.',
  usage: 'gatehouse user reset-mfa USER_ID_OR_EMAIL',
  details: 'Their sessions are kept (docs/decisions/0094). Recorded as mfa.reset_by_admin.',
  positionals: ['USER_ID_OR_EMAIL'],
  async run({ positionals, out, services, audit }) {
    const user = await requireUser(services, positionals[0] ?? '');
    const removed = await services.secondFactors.removeAll(user.id);
    await audit('mfa.reset_by_admin', { detail: { user_id: user.id, removed } });
    out.result({ user_id: user.id, email: user.email, removed }, removed ? `removed every second factor of ${user.email}` : `${user.email} had no second factor`);
  },
};
