// The `gatehouse` command line: finds the command, parses its arguments, opens the configured
// database when the command needs it, runs it and answers the exit code
// (0 done, 1 failed, 2 usage error).
import { buildServices, openStorage } from '../app.ts';
import type { Clock } from '../clock.ts';
import { ConfigError, loadConfig } from '../config.ts';
import {
  checkPositionals,
  checkRequired,
  CommandFailed,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  helpText,
  lineFromStdin,
  parseCommandArgs,
  UsageError,
  type Command,
  type CommandContext,
  type Output,
} from './command.ts';
import { auditList } from './commands/audit.ts';
import { connectionCreate, connectionDelete, connectionList, connectionShow, connectionUpdate } from './commands/connections.ts';
import { keysEncrypt, keysList, keysRotate } from './commands/keys.ts';
import { memberAdd, memberBlock, memberList, memberRemove, memberUnblock, userBlock, userRemove, userUnblock } from './commands/members.ts';
import { migrate } from './commands/migrate.ts';
import { pinCreate, pinList, pinRevoke } from './commands/pins.ts';
import { projectCreate, projectDelete, projectList, projectRotateSecret, projectShow, projectUpdate } from './commands/projects.ts';
import { serve } from './commands/serve.ts';
import { browserSessionEnd, browserSessionList, sessionEnd, sessionList } from './commands/sessions.ts';
import { usersExport, usersImport } from './commands/accounts-io.ts';
import { backup, restore } from './commands/backup.ts';
import { adminCreate, userCreate, userDelete, userList, userProfile, userResetMfa, userShow, userUpdate } from './commands/users.ts';
import {
  webhookCreate,
  webhookDeliveries,
  webhookDelete,
  webhookList,
  webhookRotateSecret,
  webhookShow,
  webhookTest,
  webhookUpdate,
} from './commands/webhooks.ts';
import { CONSOLE_GAP_COMMANDS } from './commands/console-gaps.ts';

// One command a line, grouped as `gatehouse --help` shows them: a new command is a new line.
export const COMMANDS: readonly Command[] = [
  serve,
  migrate,
  adminCreate,
  projectCreate,
  projectUpdate,
  projectList,
  projectShow,
  projectDelete,
  projectRotateSecret,
  memberList,
  memberAdd,
  memberBlock,
  memberUnblock,
  memberRemove,
  pinCreate,
  pinList,
  pinRevoke,
  keysRotate,
  keysList,
  keysEncrypt,
  userCreate,
  userList,
  userShow,
  userUpdate,
  userProfile,
  userDelete,
  userResetMfa,
  userBlock,
  userUnblock,
  userRemove,
  usersImport,
  usersExport,
  sessionList,
  sessionEnd,
  browserSessionList,
  browserSessionEnd,
  auditList,
  webhookList,
  webhookShow,
  webhookCreate,
  webhookUpdate,
  webhookDelete,
  webhookRotateSecret,
  webhookTest,
  webhookDeliveries,
  backup,
  restore,
  connectionCreate,
  connectionList,
  connectionShow,
  connectionUpdate,
  connectionDelete,
  ...CONSOLE_GAP_COMMANDS,
];

interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** standard input, one line (tests give it here); the process's by default */
  stdinLine?: () => string;
  /** the services' clock (tests run commands on the clock of the app they check against); the system's by default */
  clock?: Clock;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

function firstSentence(text: string): string {
  return /^[^.]*\./.exec(text)?.[0] ?? text;
}

function overview(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: gatehouse <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${firstSentence(c.summary)}`),
    '',
    'Every command takes --help, and --json to print its result as JSON.',
    'Configuration comes from the environment (GATEHOUSE_DATABASE_URL, …); see docs/configuration.md.',
    'Exit status: 0 done, 1 failed (not found, already exists, …), 2 usage error.',
  ].join('\n');
}

type Resolved = { command: Command; rest: string[] } | { help: string; exit: number; toStderr?: string };

function resolve(argv: string[]): Resolved {
  const [first, second] = argv;
  if (first === undefined) return { help: overview(), exit: EXIT_USAGE, toStderr: 'no command given' };
  if (first === '-h' || first === '--help' || first === 'help') {
    const wanted = argv.slice(1).filter((a) => !a.startsWith('-'));
    if (wanted.length === 0) return { help: overview(), exit: EXIT_OK };
    return resolve([...wanted, '--help']);
  }
  const two = COMMANDS.find((c) => c.name === `${first} ${second ?? ''}`);
  if (two) return { command: two, rest: argv.slice(2) };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { command: one, rest: argv.slice(1) };
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (group.length > 0) {
    if (second === '-h' || second === '--help') return { help: overview(group), exit: EXIT_OK };
    const problem = second === undefined || second.startsWith('-') ? `${first}: which one?` : `unknown command: ${first} ${second}`;
    return { help: overview(group), exit: EXIT_USAGE, toStderr: problem };
  }
  return { help: overview(), exit: EXIT_USAGE, toStderr: `unknown command: ${first}` };
}

function makeOutput(io: CliIo, json: boolean): Output {
  return {
    json,
    say: (text) => {
      if (!json) io.stdout(text);
    },
    result: (value, human) => {
      if (json) io.stdout(JSON.stringify(value, null, 2));
      else if (human !== undefined) io.stdout(human);
    },
  };
}

function fail(io: CliIo, json: boolean, message: string, exit: number, hint?: string): number {
  if (json) io.stderr(JSON.stringify({ error: message }));
  else io.stderr(`gatehouse: ${message}${hint ? `\n${hint}` : ''}`);
  return exit;
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const json = argv.includes('--json');
  const resolved = resolve(argv);
  if ('help' in resolved) {
    if (resolved.toStderr !== undefined) {
      io.stderr(`gatehouse: ${resolved.toStderr}\n\n${resolved.help}`);
    } else {
      io.stdout(resolved.help);
    }
    return resolved.exit;
  }

  const { command, rest } = resolved;
  const hint = `Run 'gatehouse ${command.name} --help' for its options.`;
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseCommandArgs(command, rest));
    if (values.help === true) {
      io.stdout(helpText(command));
      return EXIT_OK;
    }
    checkPositionals(command, positionals);
    checkRequired(command, values);
  } catch (error) {
    if (error instanceof UsageError) return fail(io, json, error.message, EXIT_USAGE, hint);
    throw error;
  }

  const out = makeOutput(io, json);
  let close = async () => {};
  try {
    const config = loadConfig(io.env);
    const context: CommandContext = {
      config,
      values,
      positionals,
      out,
      // Set below for the commands that need it; serve and migrate build their own storage.
      services: undefined as never,
      audit: async () => {},
      stdinLine: io.stdinLine ?? lineFromStdin,
    };
    if (command.needsServices !== false) {
      const database = await openStorage(config);
      close = () => database.close();
      // As buildApp does: instances (and this command) starting together agree on one signing key, one console.
      const services = await database.withLock('start', () => buildServices({ config, ...(io.clock ? { clock: io.clock } : {}) }, database));
      close = async () => {
        // An event the command recorded is sent to its webhooks at once (the deliverer's nudge):
        // that run finishes before the database closes under it.
        await services.webhooks.stop();
        services.mailer.close();
        await services.closeLimits();
        await database.close();
      };
      context.services = services;
      context.audit = (type, facts = {}) =>
        services.audit.record({
          type,
          outcome: 'success',
          subject: null,
          projectId: facts.projectId ?? null,
          detail: { ...facts.detail, via: 'cli' },
        });
    }
    await command.run(context);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) return fail(io, json, error.message, EXIT_USAGE, hint);
    if (error instanceof CommandFailed) return fail(io, json, error.message, EXIT_FAILURE);
    if (error instanceof ConfigError) return fail(io, json, `configuration error: ${error.message}`, EXIT_FAILURE);
    return fail(io, json, error instanceof Error ? error.message : String(error), EXIT_FAILURE);
  } finally {
    await close();
  }
}
