// npm run bench [-- options]: both backends, one after the other. bench/run.ts on SQLite with
// every scenario, then on PostgreSQL + Redis with the scenarios the backend changes (refresh and
// its second process, userinfo, code-exchange, authorize-sso); each pass prints its table and
// targets, and the last line adds them up with the one target that needs both passes: the
// refresh p99 on PostgreSQL + Redis within 2× of SQLite's (issue 22). With --backend, only that
// backend's pass runs, as bench/run.ts alone would.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const run = (extra: string[]): { status: number; stdout: string } => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args, ...extra], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  process.stdout.write(child.stdout ?? '');
  return { status: child.status ?? 1, stdout: child.stdout ?? '' };
};

if (args.some((a) => a === '--backend' || a.startsWith('--backend='))) {
  process.exitCode = run([]).status;
} else {
  // Both passes' results kept side by side in bench/results (git-ignored), under one time stamp.
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const quick = args.includes('--quick') ? '-quick' : '';
  const files = { sqlite: `${stamp}${quick}-sqlite.json`, postgres: `${stamp}${quick}-postgres.json` };
  const POSTGRES_SCENARIOS = 'refresh,refresh-2-processes,userinfo,code-exchange,authorize-sso';
  const chosen = args.some((a) => a === '--only' || a.startsWith('--only=')) ? [] : ['--only', POSTGRES_SCENARIOS];
  process.stdout.write('== SQLite ==\n');
  const sqlite = run(['--backend', 'sqlite', '--results-file', join(dir, files.sqlite)]);
  process.stdout.write('\n== PostgreSQL + Redis ==\n');
  const postgres = run(['--backend', 'postgres', '--results-file', join(dir, files.postgres), ...chosen]);
  const counted = (out: string) => {
    const last = /^targets: (\d+) met, (\d+) missed$/m.exec(out);
    return last ? { met: Number(last[1]), missed: Number(last[2]) } : { met: 0, missed: 1 };
  };
  interface Report {
    summaries?: Record<string, { gatehouse: { p99: number } } | undefined>;
  }
  const report = (name: string): Report | undefined => {
    try {
      return JSON.parse(readFileSync(join(dir, name), 'utf8')) as Report;
    } catch {
      return undefined;
    }
  };
  const p99 = (r: Report | undefined) => r?.summaries?.refresh?.gatehouse.p99;
  const [onSqlite, onPostgres] = [p99(report(files.sqlite)), p99(report(files.postgres))];
  let met = counted(sqlite.stdout).met + counted(postgres.stdout).met;
  let missed = counted(sqlite.stdout).missed + counted(postgres.stdout).missed;
  process.stdout.write('\n');
  if (onSqlite !== undefined && onPostgres !== undefined) {
    const within = onPostgres <= 2 * onSqlite;
    process.stdout.write(`${within ? 'met    ' : 'missed '}  refresh p99 on PostgreSQL + Redis ≤ 2× SQLite's: ${onPostgres.toFixed(2)} ms against ${onSqlite.toFixed(2)} ms = ${(onPostgres / onSqlite).toFixed(2)}×\n`);
    if (within) met++;
    else missed++;
  } else process.stdout.write("skipped  refresh p99 on PostgreSQL + Redis ≤ 2× SQLite's: not measured\n");
  process.stdout.write(`targets: ${met} met, ${missed} missed (both backends)\n`);
  process.exitCode = sqlite.status || postgres.status;
}
