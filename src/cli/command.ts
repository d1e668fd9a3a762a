// What every command of the command line shares: how it declares its arguments (node:util
// parseArgs), how it fails (a usage error exits 2, any other failure 1) and how it prints
// (plain text for people, one JSON document with --json for scripts).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AuditEventType } from '../audit/events.ts';
import type { Config } from '../config.ts';
import { HttpError, InvalidRequest, isError, type ErrorFactory } from '../errors.ts';
import type { Project } from '../projects/projects.ts';
import type { Services } from '../services.ts';

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

/** The project `id` names; CommandFailed when there is none. */
export async function requireProject(services: Services, id: string): Promise<Project> {
  const record = await services.projects.find(id);
  if (!record) throw new CommandFailed(`no project with id ${id}`);
  return record.project;
}

export function helpText(command: Command): string {
  const lines = [`Usage: ${command.usage.split('\n').join('\n       ')}`, '', command.summary];
  if (command.details) lines.push('', command.details);
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
