// WAL checkpoints off the event loop. In WAL mode every commit appends its pages to the log,
// and SQLite copies them back into the database file (a checkpoint, with an fsync) once the log
// passes a size, inside whichever commit crosses it: on the server's one connection that stalled
// every request for the length of the copy, most of a refresh grant's p99
// (docs/decisions/0016-wal-checkpoints-on-a-thread.md). A worker thread with a connection of its own checkpoints instead, every
// `intervalMs`. The server's connection keeps a larger automatic checkpoint: if the worker
// stops or falls behind, the log is still bounded, at the old cost. It also lets the log start
// over: that happens only when a write finds the log wholly copied back, which the thread's
// passes never achieve while commits keep arriving; the connection's own checkpoint, with
// little left to copy, does. Each costs an fsync on the event loop, so it should come rarely.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** pages the log may reach before the server's own connection checkpoints (SQLite's default is 1000) */
export const SAFETY_NET_PAGES = 16000;

/**
 * The thread's whole program (CommonJS, run with `eval`: a worker does not get the TypeScript
 * loader the tests run under on Node 20, and this way source and build share one file). Its own
 * connection, which never writes and so never checkpoints on commit; every `intervalMs` a
 * PASSIVE checkpoint, which copies what no reader still needs and never waits for or blocks
 * readers and writers; on 'stop', a last one.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const sqlite = new Database(workerData.path, { fileMustExist: true });
sqlite.pragma('wal_autocheckpoint = 0');
function checkpoint() {
  try {
    sqlite.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  sqlite.close();
  parentPort.close();
});
`;

const sqliteModule = createRequire(import.meta.url).resolve('better-sqlite3');

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(sqlite: SqliteDatabase.Database, options: { intervalMs?: number; onError?: (message: string) => void } = {}): Checkpointer | undefined {
  if (sqlite.memory) return undefined;
  sqlite.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { module: sqliteModule, path: sqlite.name, intervalMs: options.intervalMs ?? 100 },
  });
  worker.unref();
  let lost = false;
  const fallBack = (message: string) => {
    options.onError?.(message);
    if (lost) return;
    lost = true;
    // Without the worker, the server's connection checkpoints as SQLite does by default.
    try {
      if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    } catch {
      // closing: nothing left to protect
    }
  };
  // A failure that repeats (a full disk, say) is reported once, not every interval.
  let lastError: string | undefined;
  worker.on('message', (message: { error?: string }) => {
    if (!message.error || message.error === lastError) return;
    lastError = message.error;
    options.onError?.(`WAL checkpoint: ${message.error}`);
  });
  worker.on('error', (error) => fallBack(`WAL checkpointer stopped: ${error.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      lost = true;
      worker.ref(); // the process waits for the last checkpoint
      worker.postMessage('stop');
      await exited;
    },
  };
}
