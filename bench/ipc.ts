// The channel between the bench driver and a server it started: the driver forks the server
// with an IPC channel, the server says when it listens, and setup steps are asked for as
// commands and answered once. Nothing here runs while load is measured.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';

/** The one client both servers are given: public, PKCE, rotating refresh tokens. */
export const BENCH_PROJECT = 'bench-app';
export const BENCH_REDIRECT_URI = 'https://app.bench.test/callback';
export const BENCH_SCOPE = 'openid email';
/** The confidential client both servers are given for client_credentials (its secret in the form). */
export const BENCH_SERVICE = 'bench-service';

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface Account {
  email: string;
  password: string;
}

export interface PreparedProject {
  clientId: string;
  redirectUri: string;
  accounts: Account[];
  /** the client_credentials client and its secret */
  service: { clientId: string; secret: string };
}

export interface MintedCode {
  code: string;
  verifier: string;
}

export interface HashTiming {
  /** each Argon2id verification's time, one after the other on an otherwise idle server */
  samplesMs: number[];
  /** GATEHOUSE_HASH_CONCURRENCY in force */
  concurrency: number;
}

export interface StorageCounts {
  projects: number;
  users: number;
  sessions: number;
  refreshTokens: number;
  /** bytes of the SQLite file and its write-ahead log */
  /** the database file and its log on SQLite; the schema's tables with their indexes on PostgreSQL */
  fileBytes: number;
  store: 'SQLite' | 'PostgreSQL';
}

/** The setup steps a Gatehouse bench server answers, by name: [argument, answer]. */
export interface Commands {
  prepare: [{ accounts: number }, PreparedProject];
  mintCodes: [{ count: number; scope: string }, MintedCode[]];
  mintPins: [{ count: number }, string[]];
  seedSessions: [{ sessions: number; projects: number; users: number }, StorageCounts];
  hashTiming: [{ samples: number }, HashTiming];
  counts: [Record<string, never>, StorageCounts];
}

export type CommandName = keyof Commands;

export interface Request<K extends CommandName = CommandName> {
  kind: 'command';
  id: number;
  name: K;
  arg: Commands[K][0];
}

export type Reply = { kind: 'reply'; id: number; ok: true; value: unknown } | { kind: 'reply'; id: number; ok: false; error: string };

export interface Ready {
  kind: 'ready';
  url: string;
}

/** A server process the driver started, with its setup commands. */
export class ServerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (message: Reply) => {
      if (message.kind !== 'reply') return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.ok) waiting.resolve(message.value);
      else waiting.reject(new Error(message.error));
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  static start(script: string, env: Record<string, string>, execArgv: string[] = []): Promise<ServerProcess> {
    const child = fork(script, [], {
      env: { ...process.env, ...env },
      // Compiled servers (dist/…js) run as production does; TypeScript ones through tsx.
      execArgv: script.endsWith('.ts') ? ['--import', 'tsx', ...execArgv] : execArgv,
      // The server's own output goes to the driver's stderr: stdout carries only the table.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code} before it was ready`));
      child.once('exit', onExit);
      child.on('message', (message: Ready) => {
        if (message.kind !== 'ready') return;
        child.off('exit', onExit);
        resolve(new ServerProcess(child, message.url));
      });
    });
  }

  command<K extends CommandName>(name: K, arg: Commands[K][0]): Promise<Commands[K][1]> {
    const id = this.nextId++;
    const request: Request<K> = { kind: 'command', id, name, arg };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send(request);
    });
  }

  /** Asks the server to stop (SIGTERM) and waits for it, so a --cpu-prof profile gets written. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** The server side: answers the driver's commands with the given handlers. */
export function serveCommands(handlers: { [K in CommandName]?: (arg: Commands[K][0]) => Promise<Commands[K][1]> }): void {
  process.on('message', (message: Request) => {
    if (message.kind !== 'command') return;
    const handler = handlers[message.name] as ((arg: unknown) => Promise<unknown>) | undefined;
    const answer = (reply: Reply) => process.send?.(reply);
    if (!handler) {
      answer({ kind: 'reply', id: message.id, ok: false, error: `unknown command ${message.name}` });
      return;
    }
    handler(message.arg).then(
      (value) => answer({ kind: 'reply', id: message.id, ok: true, value }),
      (error: unknown) => answer({ kind: 'reply', id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
    );
  });
}

export function announceReady(url: string): void {
  const ready: Ready = { kind: 'ready', url };
  process.send?.(ready);
}
