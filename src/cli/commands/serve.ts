// gatehouse serve: the server, with a graceful stop. On SIGTERM or SIGINT it stops accepting
// connections, lets the requests in flight finish, closes Redis and the database, and exits 0.
import { buildApp } from '../../app.ts';
import type { Command } from '../command.ts';

/** How long requests in flight get after a stop signal before the process gives up on them. */
const SHUTDOWN_GRACE_MS = 25_000;

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

    const address = await app.server.listen({ port: config.port, host: config.host });
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
