// What every command of the command line shares: how it declares its arguments (node:util
// parseArgs), how it fails (a usage error exits 2, any other failure 1) and how it prints
// (plain text for people, one JSON document with --json for scripts).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { pagedAnswer, pageRequest, PagingQueryString } from '../admin/paging.ts';
import type { AuditEventType } from '../audit/events.ts';
import type { Config } from '../config.ts';
import { HttpError, InvalidPassword, InvalidRequest, isError, type ErrorFactory } from '../errors.ts';
import type { Project } from '../projects/projects.ts';
import type { Services } from '../services.ts';
import { allPages, type Page, type PageRequest } from '../storage/paging.ts';
import { PASSWORD_REJECTIONS } from '../users/password-policy.ts';
import type { User } from '../users/users.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Wrong arguments: the command did nothing. Exit code 2. */
export class UsageError extends Error {}

/** The command could not do what was asked (not found, already exists, …). Exit code 1. */
export class CommandFailed extends Error {}

/**
 * A service's refusal in the command line's words: the catalogue errors named here become
 * CommandFailed with their text, a refused value (Invalid request) a UsageError with its detail,
 * and any other catalogue error a CommandFailed with its message.
 */
export function explain(...known: Array<[ErrorFactory, string]>): (error: unknown) => never {
  return (error) => {
    throw asCommandError(error, known);
  };
}

export function asCommandError(error: unknown, known: Array<[ErrorFactory, string]> = []): unknown {
  for (const [factory, text] of known) if (isError(error, factory)) return new CommandFailed(text);
  if (isError(error, InvalidRequest)) return new UsageError(String(error.extra.detail ?? error.message));
  if (isError(error, InvalidPassword)) {
    const reason = Object.entries(PASSWORD_REJECTIONS).find(([key]) => key === error.extra.reason)?.[1];
    return new UsageError(reason !== undefined ? `Invalid password: ${reason}` : error.message);
  }
  if (error instanceof HttpError) return new CommandFailed(error.message);
  return error;
}

export interface Output {
  json: boolean;
  /** a line (or lines) for people; nothing in --json mode */
  say(text: string): void;
  /** the result: JSON in --json mode, otherwise `human` (or nothing) */
  result(value: unknown, human?: string): void;
}

export interface Command {
  /** words after `gatehouse`: "project create" */
  name: string;
  summary: string;
  /** the synopsis line(s) after "Usage: " */
  usage: string;
  /** what the options mean, shown by --help */
  details?: string;
  options?: Options;
  /** names of the positional arguments, in order; all are required */
  positionals?: string[];
  /** options that must be given (checked before the database is opened) */
  required?: string[];
  /** Admin API routes this command does the same as, e.g. 'POST /admin/users' (checked by the CLI parity test). */
  readonly routes?: readonly string[];
  /** false for commands that build their own storage (serve, migrate) */
  needsServices?: boolean;
  run(context: CommandContext): Promise<void>;
}

export interface CommandContext {
  config: Config;
  values: Values;
  positionals: string[];
  out: Output;
  /** the services on the configured database (commands with needsServices) */
  services: Services;
  /** one line of standard input, without its line ending (--password-stdin) */
  stdinLine(): string;
  /** records a change made from the command line in the audit log */
  audit(type: AuditEventType, facts?: { projectId?: string; detail?: Record<string, unknown> }): Promise<void>;
}

const COMMON_OPTIONS: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export function parseCommandArgs(command: Command, args: string[]): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (error) {
    // parseArgs explains unknown options, missing values and the like in its message.
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
  }
}

export function checkRequired(command: Command, values: Values): void {
  for (const name of command.required ?? []) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  }
}

export function checkPositionals(command: Command, positionals: string[]): void {
  const expected = command.positionals ?? [];
  if (positionals.length < expected.length) throw new UsageError(`missing ${expected.slice(positionals.length).map((p) => `<${p}>`).join(' ')}`);
  if (positionals.length > expected.length) throw new UsageError(`unexpected argument: ${positionals[expected.length]}`);
}

export function stringOption(values: Values, name: string, required: true): string;
export function stringOption(values: Values, name: string, required?: false): string | undefined;
export function stringOption(values: Values, name: string, required = false): string | undefined {
  const value = values[name];
  if (typeof value === 'string') {
    if (value.trim() === '') throw new UsageError(`--${name} must not be empty`);
    return value;
  }
  if (required) throw new UsageError(`--${name} is required`);
  return undefined;
}

export function stringList(values: Values, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** An option that takes `true` or `false`; undefined when not given. */
export function booleanOption(values: Values, name: string): boolean | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw new UsageError(`--${name} must be true or false`);
  return text === 'true';
}

/** One line from standard input (a pipe or a file), without its line ending: passwords that stay out of shell history. */
export function lineFromStdin(): string {
  return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}

/**
 * Checks `body` against the admin API's schema for it (shapes and bounds, src/admin/schemas.ts);
 * a refused field is a usage error naming its option (`options` maps option names to fields).
 */
export function checkShape<T>(schema: TSchema, body: Record<string, unknown>, options: Readonly<Record<string, string>> = {}): T {
  const [problem] = Value.Errors(schema, body);
  if (problem) {
    const field = problem.instancePath.split('/')[1] ?? '';
    const option = Object.entries(options).find(([, f]) => f === field)?.[0];
    throw new UsageError(`${option !== undefined ? `--${option}` : field || 'the options'}: ${problem.message}`);
  }
  return body as T;
}

/** --limit and --cursor: the admin API's paging (its page sizes and its cursors). */
export const PAGING_OPTIONS = { limit: { type: 'string' }, cursor: { type: 'string' } } satisfies Options;

export const PAGING_DETAILS = [
  '  --limit N                one page of at most N entries (1-1000), and the cursor of the next',
  '  --cursor CURSOR          the page after the one that printed this cursor (same filters)',
];

/** The --limit and --cursor given, as the admin API's query fields, checked by its schema. */
export function pagingQuery(values: Values): { limit?: string; cursor?: string } {
  const limit = stringOption(values, 'limit');
  const cursor = stringOption(values, 'cursor');
  return checkShape(PagingQueryString, { ...(limit !== undefined ? { limit } : {}), ...(cursor !== undefined ? { cursor } : {}) }, { limit: 'limit', cursor: 'cursor' });
}

/**
 * A list the way the admin API pages it: one page with --limit or --cursor (and the cursor of the
 * next page, null on the last), else every page, followed to the end (docs/decisions/0072).
 */
export async function listPages<T>(values: Values, read: (page: PageRequest) => Promise<Page<T>>): Promise<{ items: T[]; next_cursor: string | null }> {
  const query = pagingQuery(values);
  if (query.limit === undefined && query.cursor === undefined) return { items: await allPages(read), next_cursor: null };
  let page: PageRequest;
  try {
    page = pageRequest(query);
  } catch (error) {
    throw asCommandError(error);
  }
  return pagedAnswer('items', await read(page));
}

/** What a list prints after its table when there is more. */
export function nextPageLine(nextCursor: string | null): string[] {
  return nextCursor === null ? [] : ['', `more: --cursor ${nextCursor}`];
}

/** The account a command names by id or by email; CommandFailed when there is none. */
export async function requireUser(services: Services, idOrEmail: string): Promise<User> {
  const who = idOrEmail.trim();
  const byId = await services.users.find(who);
  const user = byId?.user ?? (who.includes('@') ? (await services.users.findByEmail(who))?.user : undefined);
  if (!user) throw new CommandFailed(`no user ${who}`);
  return user;
}

/** The project `id` names; CommandFailed when there is none. */
export async function requireProject(services: Services, id: string): Promise<Project> {
  const record = await services.projects.find(id);
  if (!record) throw new CommandFailed(`no project with id ${id}`);
  return record.project;
}

export function helpText(command: Command): string {
  const lines = [`Usage: ${command.usage.split('\n').join('\n       ')}`, '', command.summary];
  if (command.details) lines.push('', command.details);
  if (command.routes && command.routes.length > 0) lines.push('', `Admin API: ${command.routes.join(', ')}`);
  lines.push('', 'Common options:', '  --json       print the result as JSON (errors too, on stderr)', '  -h, --help   show this help');
  return lines.join('\n');
}

/** Aligned columns for list output. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
