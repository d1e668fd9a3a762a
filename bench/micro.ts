// node --import tsx bench/micro.ts [--sessions N] [--pragma "..."] : what one refresh grant is
// made of, piece by piece, without HTTP — each step of POST /token (refresh_token) timed on its
// own against the real services on a fresh SQLite file, to decide optimisations with numbers.
// Per step: wall time one at a time (latency), its rate, and the process CPU it used (all threads);
// last, the pages one rotation writes to the WAL, with and without moving its session's expiry.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildServices, openStorage } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { sha256 } from '../src/crypto/tokens.ts';
import { SESSION_EXPIRY_SLACK_MAX_MS } from '../src/sessions/sessions.ts';

const { values } = parseArgs({
  options: { sessions: { type: 'string', default: '1000' }, ms: { type: 'string', default: '1500' }, pragma: { type: 'string', multiple: true, default: [] } },
});
const sessionCount = Number(values.sessions);
const budgetMs = Number(values.ms);

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-micro-'));
const databaseFile = join(dir, 'micro.db');
const config = loadConfig({ GATEHOUSE_DATABASE_URL: `sqlite:${databaseFile}`, GATEHOUSE_TOKEN_RATE_LIMIT: '1000000000', GATEHOUSE_LOG_LEVEL: 'warn' });
const database = await openStorage(config);
// --pragma "wal_autocheckpoint = 10000": try a setting before changing database.ts
for (const pragma of values.pragma ?? []) console.log(`pragma ${pragma}: ${JSON.stringify(database.sqlite?.pragma(pragma))}`);
// The system clock, moved forward on purpose by the WAL count below.
let clockOffsetMs = 0;
const clock = { now: () => Date.now() + clockOffsetMs };
const services = await buildServices({ config, clock, mailer: { send: async () => {}, close: () => {} } as never }, database);
const { projects, users, sessions, tokens, limits } = services;

const created = await projects.create({ id: 'micro-app', name: 'Micro', redirect_uris: ['https://app.micro.test/cb'] });
if (!created) throw new Error('project exists');
const user = await users.create({ email: 'micro@bench.test' });
if (!user) throw new Error('user exists');
await users.addMember('micro-app', user.id);
const refreshTtlMs = config.refreshTokenTtlSeconds * 1000;
const chains: string[] = [];
for (let i = 0; i < sessionCount; i++) {
  const { refreshToken } = await sessions.start({ projectId: 'micro-app', subject: { kind: 'user', userId: user.id }, method: 'pwd', scope: 'openid email', authTime: Date.now(), refreshTtlMs });
  chains.push(refreshToken);
}

async function time(name: string, op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 200; i++) await op(i); // warm-up
  let n = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - started < budgetMs) {
    for (let k = 0; k < 50; k++) await op(n++);
  }
  const us = ((performance.now() - started) * 1000) / n;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / n;
  console.log(
    `${name.padEnd(52)} ${us.toFixed(1).padStart(8)} µs  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)}/s  CPU ${cpuUs.toFixed(1).padStart(6)} µs`,
  );
  return us;
}

const record = (await projects.find('micro-app'))!;
const session = (await sessions.findByHandle((await database.db.selectFrom('sessions').select('id').executeTakeFirstOrThrow()).id))!;
console.log(`${sessionCount} sessions stored; times are per operation, one at a time`);
await time('sha256 of a token (crypto/tokens.ts)', (i) => sha256(`token-${i}`));
await time('ES256 JWT signature (KeyRing.signJwt)', (i) => services.keys.signJwt({ sub: 'x', i }));
await time('rate limiter hit (in memory, written each second)', () => limits.tokenRequestsPerClient.hit('micro-app'));
await time('projects.find', () => projects.find('micro-app'));
await time('sessions.checkSubject (user + membership, one query)', () => sessions.checkSubject({ kind: 'user', userId: user.id }, 'micro-app'));
const claims = await sessions.checkSubject({ kind: 'user', userId: user.id }, 'micro-app');
await time('tokens.issue (access + ID token)', () => tokens.issue({ session, sid: 'x', project: record.project, refreshToken: 'x', accessTokenSeconds: 900, ...(claims ? { user: claims } : {}) }));
await time('sessions.rotate (one read, one transaction)', async (i) => {
  const slot = i % chains.length;
  const { refreshToken } = await sessions.rotate(chains[slot] as string, 'micro-app', refreshTtlMs);
  chains[slot] = refreshToken;
});
const wholeGrant = async (slot: number) => {
  await limits.tokenRequestsPerClient.hit('micro-app');
  const found = (await projects.find('micro-app'))!;
  const rotated = await sessions.rotate(chains[slot] as string, 'micro-app', refreshTtlMs);
  chains[slot] = rotated.refreshToken;
  await tokens.issue({ session: rotated.session, sid: rotated.sid, project: found.project, refreshToken: rotated.refreshToken, accessTokenSeconds: 900, ...(rotated.user ? { user: rotated.user } : {}) });
};
await time('whole grant without HTTP (limiter…issue)', (i) => wholeGrant(i % chains.length));
{
  // The same grants, ten at a time, as ten connections would interleave them.
  const started = performance.now();
  const cpu = process.cpuUsage();
  let n = 0;
  await Promise.all(
    Array.from({ length: 10 }, async (_, lane) => {
      while (performance.now() - started < budgetMs) {
        await wholeGrant((lane * 97 + n++) % chains.length);
      }
    }),
  );
  const us = ((performance.now() - started) * 1000) / n;
  const used = process.cpuUsage(cpu);
  console.log(
    `${'whole grant, 10 interleaved'.padEnd(52)} ${us.toFixed(1).padStart(8)} µs  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)}/s  CPU ${((used.user + used.system) / n).toFixed(1).padStart(6)} µs`,
  );
}
const sqlite = database.sqlite;
if (sqlite) {
  // Pages a rotation writes to the WAL (frames), in groups of five as the group commit makes
  // them under load: a count that does not depend on the machine's noise. Checkpoints are off
  // meanwhile, so the log only grows.
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const autocheckpoint = sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
  sqlite.pragma('wal_autocheckpoint = 0');
  const frameBytes = 24 + (sqlite.pragma('page_size', { simple: true }) as number);
  const walBytes = () => statSync(`${databaseFile}-wal`).size;
  // Once with rotations in quick succession, as under the bench's load: a session's recorded
  // expiry runs up to an hour ahead of its token's (sessionExpiryFor), so these rotations leave
  // the session's row alone. Then with the clock moved past that hour before every group, as for
  // clients that refresh less often than that: every rotation rewrites its session too.
  for (const [label, gapMs] of [
    ['WAL pages per rotation (groups of five)', 0],
    ['  the same, each rotation also moving its session', SESSION_EXPIRY_SLACK_MAX_MS + 1],
  ] as const) {
    const before = walBytes();
    const rotations = 5000;
    for (let i = 0; i < rotations; i += 5) {
      clockOffsetMs += gapMs;
      await Promise.all(
        [0, 1, 2, 3, 4].map(async (k) => {
          const slot = (i + k * 197) % chains.length;
          chains[slot] = (await sessions.rotate(chains[slot] as string, 'micro-app', refreshTtlMs)).refreshToken;
        }),
      );
    }
    console.log(`${label.padEnd(52)} ${((walBytes() - before) / frameBytes / rotations).toFixed(2).padStart(8)}`);
  }
  sqlite.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
}
await services.closeLimits();
await database.close();
rmSync(dir, { recursive: true, force: true });
