// Real `gatehouse serve` processes for the end-to-end tests of several instances on one shared
// PostgreSQL schema and Redis prefix (test/e2e/scale-*.test.ts), and plain HTTP calls to them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pkcePair, TEST_ARGON2 } from './app.ts';
import { freePort } from './server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Instance {
  url: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The settings every instance of a test shares: storage, issuer, the configured admin, and the test's own. */
export interface InstanceSettings {
  storage: Record<string, string>;
  issuer: string;
  adminEmail: string;
  adminPassword: string;
  env?: Record<string, string>;
}

/** A JSON request to one instance (or a balancer); the answer's body parsed. */
export async function call(base: string, method: string, path: string, body?: object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A client address of its own, so one test's per-IP counters never meet another's. */
export function freshIp(): string {
  return `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

export function startInstance(port: number, settings: InstanceSettings): Instance {
  const { storage } = settings;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      GATEHOUSE_DATABASE_URL: storage.GATEHOUSE_DATABASE_URL,
      GATEHOUSE_DATABASE_POOL_SIZE: '5',
      GATEHOUSE_REDIS_URL: storage.GATEHOUSE_REDIS_URL,
      GATEHOUSE_REDIS_PREFIX: storage.GATEHOUSE_REDIS_PREFIX,
      GATEHOUSE_ISSUER: settings.issuer,
      GATEHOUSE_ADMIN_EMAIL: settings.adminEmail,
      GATEHOUSE_ADMIN_PASSWORD: settings.adminPassword,
      GATEHOUSE_TRUST_PROXY: 'true',
      GATEHOUSE_LOG_LEVEL: 'warn',
      ...TEST_ARGON2,
      ...settings.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
}

async function waitForHealth(instance: Instance, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${instance.url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (instance.child.exitCode !== null) throw new Error(`instance exited during start:\n${instance.output()}`);
    if (Date.now() > deadline) throw new Error(`instance not healthy in time:\n${instance.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts `count` instances at the same moment (so the first start is itself raced) and waits
 * until every one answers /healthz. They are pushed onto `into` as they start, so that the
 * caller's after() stops them even when one fails to come up.
 */
export async function startInstances(count: number, settings: InstanceSettings, into: Instance[]): Promise<Instance[]> {
  const ports: number[] = [];
  for (let n = 0; n < count; n++) ports.push(await freePort());
  const started = ports.map((port) => startInstance(port, settings));
  into.push(...started);
  const deadline = Date.now() + 60_000;
  await Promise.all(started.map((instance) => waitForHealth(instance, deadline)));
  return started;
}

/** Stops every instance (SIGTERM) and asserts each stopped cleanly. */
export async function stopInstances(instances: Instance[]): Promise<void> {
  for (const instance of instances) instance.child.kill('SIGTERM');
  const codes = await Promise.all(instances.map((instance) => instance.exited));
  for (const [i, code] of codes.entries()) assert.equal(code, 0, `instance ${i} did not stop cleanly:\n${instances[i]?.output()}`);
}

/** Logs in by password (POST /login, JSON) and answers the code, its PKCE verifier and the answer's headers. */
export async function passwordCode(base: string, clientId: string, email: string, password: string, redirectUri: string, headers: Record<string, string> = {}) {
  const { verifier, challenge } = pkcePair();
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': freshIp(), ...headers },
    body: JSON.stringify({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'openid email',
      email,
      password,
    }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, JSON.stringify(body));
  return { code: String(body.code), verifier, headers: res.headers };
}

export function exchange(base: string, clientId: string, code: string, verifier: string, redirectUri: string): Promise<Answer> {
  return call(base, 'POST', '/token', { grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri });
}

export function refresh(base: string, clientId: string, refreshToken: string): Promise<Answer> {
  return call(base, 'POST', '/token', { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
}

/** An access token of the configured admin: signs in to the console on one instance, exchanges the code on another. */
export async function adminTokenVia(signIn: string, exchangeOn: string, settings: InstanceSettings): Promise<string> {
  const callback = `${settings.issuer}/console/callback`;
  const login = await passwordCode(signIn, 'console', settings.adminEmail, settings.adminPassword, callback);
  const tokens = await exchange(exchangeOn, 'console', login.code, login.verifier, callback);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return String(tokens.body.access_token);
}
