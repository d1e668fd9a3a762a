// The gatehouse command line (see src/cli/run.ts): serve, migrate and the operator tasks.
import { runCli } from './cli/run.ts';

runCli(process.argv.slice(2)).then(
  (code) => {
    // No process.exit: output written to a pipe is flushed first; `serve` keeps running.
    process.exitCode = code;
    // A failed command must end even if something it opened still holds the event loop (a
    // server that could not listen must not stay up without a port); the timer itself does not.
    if (code !== 0) setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
