// The gatehouse command line: serve, migrate.
import { buildApp, openStorage } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

const USAGE = `Usage: gatehouse <command>

Commands:
  serve     run the server (applies migrations first)
  migrate   apply database migrations and exit

Configuration comes from the environment; see the README.`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp({
    config,
    logger: {
      level: config.logLevel,
      // Secrets travel in bodies and these headers; neither is ever logged.
      redact: ['req.headers.authorization', 'req.headers.cookie'],
    },
  });
  const address = await app.server.listen({ port: config.port, host: config.host });
  app.server.log.info({ issuer: config.issuer, database: config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres' }, `Gatehouse listening on ${address}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.server.log.info({ signal }, 'shutting down');
    // close() stops accepting connections, waits for in-flight requests, then closes storage.
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function migrate(): Promise<void> {
  const config = loadConfig();
  const database = await openStorage(config);
  await database.close();
  console.log('migrations applied');
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'serve':
      await serve();
      return -1;
    case 'migrate':
      await migrate();
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command: ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
    process.exit(1);
  },
);
