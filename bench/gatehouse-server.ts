// Gatehouse under benchmark, in a process of its own: the real app (buildApp, as `gatehouse
// serve` builds it) on the SQLite file the driver names, listening on loopback. Setup steps the
// driver asks for over IPC go through the same services the routes use; none runs while load
// is measured.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { checkAuthorizationRequest } from '../src/oauth/authorization-request.ts';
import { completeAuthorization } from '../src/oauth/authorization-response.ts';
import { announceReady, BENCH_PROJECT, BENCH_REDIRECT_URI, BENCH_SERVICE, pkcePair, serveCommands, type MintedCode, type PreparedProject, type StorageCounts } from './ipc.ts';

const config = loadConfig();
const app = await buildApp({
  config,
  logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
});
const { services } = app;
const address = await app.server.listen({ port: config.port, host: config.host });

let prepared: (PreparedProject & { userId: string }) | undefined;

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(what);
  return value;
}

async function counts(): Promise<StorageCounts> {
  const db = services.database.db;
  const count = async (table: 'projects' | 'users' | 'sessions' | 'refresh_tokens') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  if (services.database.kind === 'postgres') {
    const { rows } = await sql<{ bytes: string }>`select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and c.relkind = 'r'`.execute(db);
    return { projects: await count('projects'), users: await count('users'), sessions: await count('sessions'), refreshTokens: await count('refresh_tokens'), fileBytes: Number(rows[0]?.bytes ?? 0), store: 'PostgreSQL' };
  }
  const path = config.databaseUrl.slice('sqlite:'.length);
  const size = (file: string) => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return {
    projects: await count('projects'),
    users: await count('users'),
    sessions: await count('sessions'),
    refreshTokens: await count('refresh_tokens'),
    fileBytes: size(path) + size(`${path}-wal`),
    store: 'SQLite',
  };
}

serveCommands({
  async prepare({ accounts }) {
    if (prepared) return prepared;
    must(
      await services.projects.create({ id: BENCH_PROJECT, name: 'Bench app', redirect_uris: [BENCH_REDIRECT_URI], registration_open: true }),
      'bench project exists',
    );
    const list = [];
    let userId = '';
    for (let i = 0; i < accounts; i++) {
      const account = { email: `bench-${i}@bench.test`, password: `bench password ${i} ${randomBytes(6).toString('hex')}` };
      const user = must(await services.users.create({ ...account, email_verified: true }), 'bench user exists');
      await services.users.addMember(BENCH_PROJECT, user.id);
      if (i === 0) userId = user.id;
      list.push(account);
    }
    // The client_credentials client: confidential, its secret made (and stored as a hash) by Gatehouse.
    const { clientSecret } = await services.projects.create({ id: BENCH_SERVICE, name: 'Bench service', redirect_uris: [], confidential: true, client_credentials: true });
    if (!clientSecret) throw new Error('the bench service got no client secret');
    prepared = { clientId: BENCH_PROJECT, redirectUri: BENCH_REDIRECT_URI, accounts: list, userId, service: { clientId: BENCH_SERVICE, secret: clientSecret } };
    return { clientId: prepared.clientId, redirectUri: prepared.redirectUri, accounts: prepared.accounts, service: prepared.service };
  },

  // Codes as a successful login leaves them: the authorization parameters checked by
  // checkAuthorizationRequest, then completeAuthorization (the code path every login ends in).
  async mintCodes({ count, scope }) {
    const { userId } = must(prepared, 'prepare first');
    const codes: MintedCode[] = [];
    for (let i = 0; i < count; i++) {
      const { verifier, challenge } = pkcePair();
      const authorization = await checkAuthorizationRequest(
        { response_type: 'code', client_id: BENCH_PROJECT, redirect_uri: BENCH_REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256', scope, state: 's' },
        services.projects,
      );
      const { code } = await completeAuthorization(services, authorization, { kind: 'user', userId }, 'pwd');
      codes.push({ code, verifier });
    }
    return codes;
  },

  async mintPins({ count }) {
    must(prepared, 'prepare first');
    const pins: string[] = [];
    for (let i = 0; i < count; i++) {
      const created = await services.pins.create(BENCH_PROJECT, `bench ${i}`);
      if (typeof created !== 'object') throw new Error(`PIN not created: ${String(created)}`);
      pins.push(created.pin);
    }
    return pins;
  },

  // Stored volume for the scale runs: projects, users without passwords (no Argon2 work),
  // and sessions started through SessionService.start, as a code exchange starts them.
  async seedSessions({ sessions, projects, users }) {
    const projectIds: string[] = [];
    for (let i = 0; i < projects; i++) {
      const id = `scale-${i}`;
      await services.projects.create({ id, name: `Scale ${i}`, redirect_uris: [BENCH_REDIRECT_URI] });
      projectIds.push(id);
    }
    const userIds: string[] = [];
    for (let i = 0; i < users; i++) {
      const user = must(await services.users.create({ email: `scale-${i}@bench.test` }), 'scale user exists');
      await services.users.addMember(must(projectIds[i % projectIds.length], 'a project'), user.id);
      userIds.push(user.id);
    }
    const refreshTtlMs = config.refreshTokenTtlSeconds * 1000;
    for (let i = 0; i < sessions; i++) {
      await services.sessions.start({
        projectId: must(projectIds[i % projectIds.length], 'a project'),
        subject: { kind: 'user', userId: must(userIds[i % userIds.length], 'a user') },
        method: 'pwd',
        scope: 'openid email',
        authTime: services.clock.now(),
        refreshTtlMs,
      });
      if (i % 5000 === 4999) await sleep(0);
    }
    await sql`pragma wal_checkpoint(truncate)`.execute(services.database.db);
    return counts();
  },

  async hashTiming({ samples }) {
    const hash = await services.hasher.hash('bench timing password');
    await services.hasher.verify(hash, 'bench timing password'); // warm-up
    const samplesMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await services.hasher.verify(hash, 'bench timing password');
      samplesMs.push(performance.now() - started);
    }
    return { samplesMs, concurrency: config.hashConcurrency };
  },

  counts,
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));

announceReady(address);
