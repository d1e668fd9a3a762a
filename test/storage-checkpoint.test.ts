// WAL checkpoints from a worker thread (src/storage/checkpointer.ts): the server's connection
// no longer copies the log back into the database file inside its commits; a thread with a
// connection of its own does, and the server falls back to SQLite's own checkpoints without it.
// SQLite only: PostgreSQL has no such step.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { SAFETY_NET_PAGES, startCheckpointer } from '../src/storage/checkpointer.ts';
import { createTestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';

const onlySqlite = testBackend !== 'sqlite' && 'WAL checkpoints are a SQLite matter';

function walDatabase(): { sqlite: Sqlite.Database; path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-ckpt-')), 'db.sqlite');
  const sqlite = new Sqlite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('CREATE TABLE t (v BLOB)');
  return { sqlite, path };
}

/** Writes about 1 MiB in 50 commits: far below the safety net, so only a checkpointer moves it. */
function writeSome(sqlite: Sqlite.Database): void {
  const insert = sqlite.prepare('INSERT INTO t (v) VALUES (randomblob(20000))');
  for (let i = 0; i < 50; i++) insert.run();
}

describe('WAL checkpoints in a worker thread', { skip: onlySqlite }, () => {
  it('the server checkpoints in the background: the file grows without its connection checkpointing', async () => {
    const app = await createTestApp();
    try {
      const sqlite = app.services.database.sqlite;
      assert.ok(sqlite);
      assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), SAFETY_NET_PAGES);
      sqlite.exec('CREATE TABLE t (v BLOB)');
      const size = statSync(sqlite.name).size;
      writeSome(sqlite); // about 250 pages: the connection's own checkpoint waits for SAFETY_NET_PAGES
      const deadline = Date.now() + 10_000;
      // A checkpoint may copy the log in more than one pass (a busy host): wait for all of it.
      while (statSync(sqlite.name).size <= size + 900_000 && Date.now() < deadline) await sleep(20);
      assert.ok(statSync(sqlite.name).size > size + 900_000, 'the worker copied the log into the database file');
    } finally {
      await app.close();
    }
  });

  it('stop() checkpoints what is left, then ends the thread', async () => {
    const { sqlite, path } = walDatabase();
    const checkpointer = startCheckpointer(sqlite, { intervalMs: 60_000 });
    assert.ok(checkpointer);
    const size = statSync(path).size;
    writeSome(sqlite);
    assert.equal(statSync(path).size, size);
    await checkpointer.stop();
    assert.ok(statSync(path).size > size + 900_000);
    sqlite.close();
  });

  it('without its thread, the connection goes back to SQLite\'s own checkpoints, and says so', async () => {
    const { sqlite, path } = walDatabase();
    const messages: string[] = [];
    unlinkSync(path); // the worker cannot open the file (it must exist)
    const checkpointer = startCheckpointer(sqlite, { onError: (message) => messages.push(message) });
    assert.ok(checkpointer);
    const deadline = Date.now() + 10_000;
    while (messages.length === 0 && Date.now() < deadline) await sleep(20);
    assert.match(messages[0] ?? '', /WAL checkpointer stopped/);
    assert.equal(sqlite.pragma('wal_autocheckpoint', { simple: true }), 1000);
    await checkpointer.stop();
    sqlite.close();
  });

  it('an in-memory database has no log to copy and gets no thread', () => {
    const sqlite = new Sqlite(':memory:');
    assert.equal(startCheckpointer(sqlite), undefined);
    sqlite.close();
  });
});
