// gatehouse serve: the server, with a graceful stop. On SIGTERM or SIGINT it stops accepting
// connections, lets the requests in flight finish, closes Redis and the database, and exits 0.
import { buildApp } from '../../app.ts';
import { CommandFailed, type Command } from '../command.ts';

/** How long requests in flight get after a stop signal before the process gives up on them. */
const SHUTDOWN_GRACE_MS = 25_000;

/** Why listen() failed, in an operator's words. */
function cannotListen(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    EADDRINUSE: 'the port is already in use (EADDRINUSE)',
    EACCES: 'not allowed to listen on this port (EACCES)',
    EADDRNOTAVAIL: 'HOST is not an address of this machine (EADDRNOTAVAIL)',
    ENOTFOUND: 'HOST does not resolve (ENOTFOUND)',
    EAI_AGAIN: 'HOST does not resolve (EAI_AGAIN)',
  };
  return (code !== undefined ? reasons[code] : undefined) ?? (error instanceof Error ? error.message : String(error));
}

export const serve: Command = {
  name: 'serve',
  summary: 'Run the server (applies migrations first). SIGTERM/SIGINT stop it gracefully.',
  usage: 'gatehouse serve',
  details: [
    'Listens on HOST:PORT (default 127.0.0.1:3000) and logs JSON lines to stdout.',
    `On SIGTERM or SIGINT: stops accepting connections, finishes the requests in flight (for up to ${SHUTDOWN_GRACE_MS / 1000} s),`,
    'closes the database and exits 0. A second signal exits at once with status 1.',
  ].join('\n'),
  needsServices: false,
  async run({ config }) {
    const app = await buildApp({ config, logger: { level: config.logLevel } });
    const log = app.server.log;
    process.on('uncaughtException', (err) => {
      log.fatal({ err }, 'uncaught exception');
      process.exit(1);
    });
    process.on('unhandledRejection', (err) => {
      log.fatal({ err }, 'unhandled rejection');
      process.exit(1);
    });

    let address: string;
    try {
      address = await app.server.listen({ port: config.port, host: config.host });
    } catch (error) {
      // A server without a port must not stay up looking healthy to its supervisor: close what
      // the start opened (database, Redis, timers) so the process exits, non-zero, with the reason.
      const reason = cannotListen(error);
      log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}: ${reason}`);
      await app.close().catch(() => {});
      throw new CommandFailed(`cannot listen on ${config.host}:${config.port}: ${reason}`);
    }
    // Never the PostgreSQL URL: it may carry a password.
    log.info({ issuer: config.issuer, database: config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres' }, `Gatehouse listening on ${address}`);

    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second stop signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
      const deadline = setTimeout(() => {
        log.error({ grace_ms: SHUTDOWN_GRACE_MS }, 'requests still in flight after the grace period: exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      deadline.unref();
      // close() stops accepting, waits for requests in flight, then closes Redis and the database.
      app.close().then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
};
