// gatehouse backup FILE | restore FILE (docs/operations.md "Backup and restore";
// docs/decisions/0111-backup-and-restore.md).
import { chmodSync, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { CommandFailed, flag, type Command } from '../command.ts';

/** pages copied per step of SQLite's online backup (16 MiB of 4 KiB pages): few steps, few restarts */
const PAGES_PER_STEP = 4096;

function sqlitePath(url: string, verb: 'back up' | 'restore'): string {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === ':memory:') throw new CommandFailed(`an in-memory database cannot be ${verb === 'back up' ? 'backed up' : 'restored'}`);
    return path;
  }
  throw new CommandFailed(
    verb === 'back up'
      ? 'the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file=gatehouse.dump "$GATEHOUSE_DATABASE_URL"); see docs/operations.md'
      : 'the database is PostgreSQL: restore a pg_dump backup with pg_restore (pg_restore --clean --if-exists --dbname "$GATEHOUSE_DATABASE_URL" gatehouse.dump); see docs/operations.md',
  );
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}`);
}

export const backup: Command = {
  name: 'backup',
  summary: 'Copy the SQLite database to FILE while servers keep running (SQLite\'s online backup); on PostgreSQL, use pg_dump.',
  usage: 'gatehouse backup FILE [--force]',
  details: ['Options:', '  --force   replace FILE if it exists', 'FILE is created with mode 0600: it holds every hash and key of the instance.'].join('\n'),
  positionals: ['FILE'],
  options: { force: { type: 'boolean' } },
  needsServices: false,
  async run({ config, values, positionals, out }) {
    const source = sqlitePath(config.databaseUrl, 'back up');
    const target = positionals[0]!;
    if (!existsSync(source)) throw new CommandFailed(`no database at ${source}`);
    if (existsSync(target) && !flag(values, 'force')) throw new CommandFailed(`${target} exists (--force replaces it)`);
    const db = new SqliteDatabase(source, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const partial = `${target}.partial`;
      rmSync(partial, { force: true });
      const started = process.hrtime.bigint();
      const result = await db.backup(partial, {
        progress: ({ totalPages, remainingPages }) => {
          progress(`${totalPages - remainingPages} of ${totalPages} pages`);
          return PAGES_PER_STEP;
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\n');
      // The copy is a complete database by itself (journal mode DELETE, no WAL beside it).
      const copy = new SqliteDatabase(partial);
      copy.pragma('journal_mode = DELETE');
      copy.close();
      chmodSync(partial, 0o600);
      renameSync(partial, target);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      out.result({ file: target, pages: result.totalPages }, `backed up ${result.totalPages} pages to ${target} in ${seconds.toFixed(1)} s`);
    } finally {
      db.close();
    }
  },
};

/** True when no other connection has the SQLite file open: leaving WAL mode needs that. */
function nobodyElseUses(path: string): boolean {
  const db = new SqliteDatabase(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 200');
    const mode = db.pragma('journal_mode = DELETE', { simple: true });
    return mode === 'delete';
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  } finally {
    db.close();
  }
}

export const restore: Command = {
  name: 'restore',
  summary: 'Replace the SQLite database with a backup FILE; refused while a server (or any other process) has the database open.',
  usage: 'gatehouse restore FILE',
  details: 'Stop every server on the database first. On PostgreSQL, restore a pg_dump backup with pg_restore.',
  positionals: ['FILE'],
  needsServices: false,
  async run({ config, positionals, out }) {
    const target = sqlitePath(config.databaseUrl, 'restore');
    const file = positionals[0]!;
    if (!existsSync(file)) throw new CommandFailed(`no backup at ${file}`);
    // The backup must be a Gatehouse database, whole.
    try {
      const check = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
      try {
        const ok = check.pragma('quick_check', { simple: true });
        if (ok !== 'ok') throw new CommandFailed(`${file} is damaged: ${String(ok)}`);
        check.prepare('select count(*) from users').get();
      } finally {
        check.close();
      }
    } catch (error) {
      if (error instanceof CommandFailed) throw error;
      throw new CommandFailed(`${file} is not a Gatehouse database: ${(error as Error).message}`);
    }
    if (existsSync(target) && !nobodyElseUses(target)) {
      throw new CommandFailed(`the database ${target} is in use (a server is running on it?): stop every server, then restore`);
    }
    const partial = `${target}.restoring`;
    copyFileSync(file, partial);
    chmodSync(partial, 0o600);
    // Nobody has the file open (checked above), so no WAL of the old database is left to apply.
    rmSync(`${target}-wal`, { force: true });
    rmSync(`${target}-shm`, { force: true });
    renameSync(partial, target);
    out.result({ file: target, from: file }, `restored ${target} from ${file}`);
  },
};
