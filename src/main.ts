// The gatehouse command line (see src/cli/run.ts): serve, migrate and the operator tasks.
import { runCli } from './cli/run.ts';

runCli(process.argv.slice(2)).then(
  (code) => {
    // No process.exit: output written to a pipe is flushed first; `serve` keeps running.
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
