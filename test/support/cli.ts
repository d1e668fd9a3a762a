// The command line run in this process (runCli, what main.ts calls) on the database of a test
// app, on that app's clock, with what it prints kept for the test to read.
import assert from 'node:assert/strict';
import { runCli } from '../../src/cli/run.ts';
import type { TestApp } from './app.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cli {
  (...argv: string[]): Promise<CliRun>;
  /** runs with --json, asserts exit 0 and answers the parsed result */
  json<T>(...argv: string[]): Promise<T>;
}

/** A `gatehouse` on `env` (the app's environment) and `app`'s clock; `stdin` is the line --password-stdin reads. */
export function cliFor(app: TestApp, env: Record<string, string>, stdin?: string): Cli {
  const stdinLine = () => {
    if (stdin === undefined) throw new Error('this test gives the command no standard input');
    return stdin;
  };
  const run = async (...argv: string[]): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env, clock: app.clock, stdinLine });
    return { code, stdout, stderr };
  };
  return Object.assign(run, {
    async json<T>(...argv: string[]): Promise<T> {
      const result = await run(...argv, '--json');
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as T;
    },
  });
}
