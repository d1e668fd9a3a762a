// `gatehouse serve` as a real process: SIGTERM lets the request in flight finish (it still
// reaches the database), refuses new connections, and the process exits 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEST_ARGON2 } from '../support/app.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const WAIT_MS = 20_000;

interface LogLine {
  msg?: string;
  level?: number;
  req?: { url?: string };
  reqId?: string;
  [key: string]: unknown;
}

/** The server's JSON log lines as they arrive, with a way to wait for one. */
class LogWatcher {
  readonly lines: LogLine[] = [];
  private buffered = '';
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      let newline;
      while ((newline = this.buffered.indexOf('\n')) !== -1) {
        const text = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { msg: text };
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
  }

  waitFor(description: string, match: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line "${description}" within ${WAIT_MS} ms:\n${JSON.stringify(this.lines, null, 1)}`)), WAIT_MS);
      this.waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

function responseOf(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('gatehouse serve', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('on SIGTERM finishes the request in flight, refuses new connections, closes the database and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_')));
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: ROOT,
      env: { ...env, ...TEST_ARGON2, PORT: '0', HOST: '127.0.0.1', GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, GATEHOUSE_LOG_LEVEL: 'info' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const log = new LogWatcher(child);

    const listening = await log.waitFor('listening', (l) => /^Gatehouse listening on /.test(l.msg ?? ''));
    const port = Number(/:(\d+)$/.exec(listening.msg ?? '')?.[1]);
    assert.ok(port > 0, `port from "${listening.msg}"`);

    // A request whose body is still on its way: the server has started on it.
    const body = JSON.stringify({ grant_type: 'authorization_code', client_id: 'no-such-project' });
    const socket = await openSocket(port);
    const answer = responseOf(socket);
    socket.write(`POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    socket.write(body.slice(0, 10));
    const incoming = await log.waitFor('incoming POST /token', (l) => l.msg === 'incoming request' && l.req?.url === '/token');

    child.kill('SIGTERM');
    await log.waitFor('shutting down', (l) => /^shutting down/.test(l.msg ?? ''));

    // The listening socket closes (a moment after the signal is handled) while the old request is still open.
    const deadline = Date.now() + WAIT_MS;
    let refused = false;
    while (!refused && Date.now() < deadline) {
      try {
        (await openSocket(port)).destroy();
        await new Promise((resolve) => setTimeout(resolve, 20));
      } catch (error) {
        refused = (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    }
    assert.ok(refused, 'new connections are refused');

    socket.write(body.slice(10));
    const response = await answer;
    assert.match(response, /^HTTP\/1\.1 400 /, response);
    assert.ok(response.includes('{"error":"Invalid client_id"}'), 'the handler still reached the database');
    assert.match(response, /\r\nconnection: close\r\n/i, 'the keep-alive connection is closed after its answer');
    const completed = await log.waitFor('request completed', (l) => l.msg === 'request completed' && l.reqId === incoming.reqId);
    assert.ok(completed);

    const exitCode = await exitOf(child);
    assert.equal(exitCode, 0, `${stderr}\n${JSON.stringify(log.lines, null, 1)}`);
    assert.ok(log.lines.some((l) => l.msg === 'stopped'));
    const order = ['shutting down', 'request completed', 'stopped'].map((m) => log.lines.findIndex((l) => (l.msg ?? '').startsWith(m)));
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'shut down after the request completed');
  });

  it('on SIGTERM, a request whose body never finishes is answered 408 and its connection ends within the shutdown\'s bound, and the process exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_')));
    // A request timeout longer than the shutdown's grace: only the shutdown's own bound can end the request.
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      cwd: ROOT,
      env: { ...env, ...TEST_ARGON2, PORT: '0', HOST: '127.0.0.1', GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_REQUEST_TIMEOUT_MS: '120000' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const log = new LogWatcher(child);
    const listening = await log.waitFor('listening', (l) => /^Gatehouse listening on /.test(l.msg ?? ''));
    const port = Number(/:(\d+)$/.exec(listening.msg ?? '')?.[1]);

    const socket = await openSocket(port);
    const answer = responseOf(socket);
    socket.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"client_id":');
    const incoming = await log.waitFor('incoming POST /token', (l) => l.msg === 'incoming request' && l.req?.url === '/token');

    const signalled = Date.now();
    child.kill('SIGTERM');
    const response = await answer;
    const answeredAfter = Date.now() - signalled;
    assert.match(response, /^HTTP\/1\.1 408 /, response);
    assert.ok(response.includes('{"error":"Request timeout"}'), response);
    assert.match(response, new RegExp(`\\r\\nx-request-id: ${incoming.reqId ?? 'none'}\\r\\n`, 'i'), "the request's own id");
    const exitCode = await exitOf(child);
    assert.equal(exitCode, 0, `${stderr}\n${JSON.stringify(log.lines, null, 1)}`);
    // Within the shutdown's bound (10 s), well inside its 25 s grace.
    assert.ok(answeredAfter < 15_000, `answered ${answeredAfter} ms after SIGTERM`);
  });
});
