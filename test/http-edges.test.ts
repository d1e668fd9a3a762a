// Hardening, over a real socket against a listening server: every answer goes through the one
// error path (what Fastify and Node answered before the hooks), slow bodies answer 408, and an
// early refusal of a large body is heard by its client instead of a reset connection.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** what the client's socket reported, if it failed (EPIPE, ECONNRESET) */
  error?: string;
  closed: boolean;
}

function parse(text: string): Omit<RawAnswer, 'closed'> {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends `request` as written and reads until the server closes the connection (or `waitMs`). */
async function exchange(port: number, request: string | Buffer, waitMs = 5000): Promise<RawAnswer> {
  const socket = await open(port);
  return new Promise((resolve) => {
    let data = '';
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parse(data), ...(error !== undefined ? { error } : {}), closed: true });
    });
    socket.write(request);
  });
}

const SECURITY_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'strict-transport-security', 'referrer-policy'];

function assertOneErrorPath(answer: RawAnswer, status: number, message: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.match(answer.headers['x-request-id'] ?? '', /^[0-9a-f]{8}-[0-9a-z]+$/, 'X-Request-Id');
  for (const name of SECURITY_HEADERS) assert.ok(answer.headers[name], `${name} on a ${status}`);
  assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
  assert.equal((JSON.parse(answer.body) as { error: string }).error, message);
}

describe('answers made before the hooks go through the one error path', () => {
  let app: TestApp;
  let port: number;
  before(async () => {
    app = await createTestApp({ env: { GATEHOUSE_REQUEST_TIMEOUT_MS: '500' } });
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.server.address() as { port: number }).port;
  });
  after(() => app.close());

  it('a URL Fastify cannot decode (/%) answers 400 Invalid request, with the headers, never echoing the query string', async () => {
    for (const path of ['/%', '/authorize/%zz', '/token%?token=SECRET-IN-QUERY&code=SECRET2']) {
      const answer = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: gatehouse.test\r\nConnection: close\r\n\r\n`);
      assertOneErrorPath(answer, 400, 'Invalid request');
      assert.doesNotMatch(answer.body, /SECRET|%|token/);
    }
  });

  it('a request without Host on HTTP/1.1 answers 400 Invalid request as JSON, with the headers', async () => {
    const answer = await exchange(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    assertOneErrorPath(answer, 400, 'Invalid request');
  });

  it('a header overflow answers 431 Request headers too large, with the headers, and the connection closes', async () => {
    const answer = await exchange(port, `GET /healthz?token=SECRET HTTP/1.1\r\nHost: gatehouse.test\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
    assertOneErrorPath(answer, 431, 'Request headers too large');
    assert.doesNotMatch(answer.body, /SECRET/);
    assert.ok(answer.closed);
  });

  it('bytes that are not HTTP answer 400 Invalid request, with the headers', async () => {
    const answer = await exchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    assertOneErrorPath(answer, 400, 'Invalid request');
  });

  it('a request body that does not finish within GATEHOUSE_REQUEST_TIMEOUT_MS answers 408 Request timeout and its connection closes', async () => {
    const started = Date.now();
    const answer = await exchange(port, 'POST /token HTTP/1.1\r\nHost: gatehouse.test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"client_id":', 10_000);
    const elapsed = Date.now() - started;
    assertOneErrorPath(answer, 408, 'Request timeout');
    assert.ok(answer.closed);
    // The timeout (500 ms) plus Node's check interval (at most the timeout, 1 s at most).
    assert.ok(elapsed < 2500, `answered after ${elapsed} ms`);
  });

  it('headers that trickle in past the timeout answer 408 too', async () => {
    const socket = await open(port);
    const answer = new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', () => {});
    });
    socket.write('GET /healthz HTTP/1.1\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 100);
    const text = await answer;
    clearInterval(drip);
    assert.equal(parse(text).status, 408);
  });
});

describe('an early refusal of a large body is heard', () => {
  let app: TestApp;
  let port: number;
  before(async () => {
    app = await createTestApp();
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.server.address() as { port: number }).port;
  });
  after(() => app.close());

  /** Sends a 2 MB body in 64 KiB pieces, as a client on a real network does, and reads the answer. */
  async function sendLargeBody(path: string, extraHeaders = ''): Promise<RawAnswer & { sent: number }> {
    const total = 2 * 1024 * 1024;
    const socket = await open(port);
    let data = '';
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: gatehouse.test\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\n${extraHeaders}\r\n`);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    while (sent < total && !socket.destroyed) {
      await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
      sent += piece.length;
      // A pause now and then, so the server answers while the body is still on its way.
      if (sent % (512 * 1024) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await closed;
    return { ...parse(data), ...(error !== undefined ? { error } : {}), closed: true, sent };
  }

  it('a 2 MB body over the limit: the client sends it all and reads 413 Request body too large, then the connection closes', async () => {
    for (let round = 0; round < 5; round++) {
      const answer = await sendLargeBody('/token');
      assert.equal(answer.error, undefined, `the client saw ${answer.error} (round ${round})`);
      assert.equal(answer.sent, 2 * 1024 * 1024);
      assertOneErrorPath(answer, 413, 'Request body too large');
      assert.equal(answer.headers.connection?.toLowerCase(), 'close');
    }
  });

  it('a refusal made before the body is read (a cross-site post) is heard the same way', async () => {
    const answer = await sendLargeBody('/login', 'Sec-Fetch-Site: cross-site\r\n');
    assert.equal(answer.error, undefined);
    assertOneErrorPath(answer, 403, 'Forbidden');
  });
});
