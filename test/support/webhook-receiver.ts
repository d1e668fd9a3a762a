// A webhook receiver of the test's own: a real HTTP server on 127.0.0.1 that records every
// request and answers as the test says (a status, or never), and checks signatures with its
// own HMAC, independently of Gatehouse's code.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** how the next requests are answered: a status, or 'hang' (never answered) */
  answer: number | 'hang';
  close(): Promise<void>;
}

/** A POST as a recording server saw it. */
export interface RecordedPost {
  /** the path it was sent to */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The common part of the tests' receivers: the posts seen, the answer to give, close. */
export interface RecordingServer {
  /** `http://127.0.0.1:<port>`, no path */
  origin: string;
  /** how the next requests are answered: a status, or 'hang' (never answered) */
  answer: number | 'hang';
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that hands every request's path, headers and body to `record`,
 * then answers with `server.answer` (`reply` writes the answer of a status), or never.
 */
export async function startRecordingServer(record: (post: RecordedPost) => void, reply: (res: ServerResponse, status: number) => void): Promise<RecordingServer> {
  const hanging: ServerResponse[] = [];
  const recording: RecordingServer = {
    origin: '',
    answer: 200,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record({ path: new URL(req.url ?? '/', 'http://x').pathname, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (recording.answer === 'hang') {
        hanging.push(res);
        return;
      }
      reply(res, recording.answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  recording.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return recording;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const received: Received[] = [];
  const server = await startRecordingServer(
    ({ headers, body }) => received.push({ headers, body, json: JSON.parse(body) as Record<string, unknown> }),
    (res, status) => res.writeHead(status, { 'content-type': 'text/plain' }).end('seen'),
  );
  return {
    url: `${server.origin}${path}`,
    received,
    get answer() {
      return server.answer;
    },
    set answer(value) {
      server.answer = value;
    },
    close: () => server.close(),
  };
}

/** Whether `header` (Gatehouse-Signature) signs `body` with `secret`: `t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>`. */
export function verifySignature(secret: string, header: string | string[] | undefined, body: string): { valid: boolean; t: number } {
  const match = typeof header === 'string' ? /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return { valid: false, t: Number.NaN };
  const [, t = '', v1 = ''] = match;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return { valid: timingSafeEqual(expected, Buffer.from(v1, 'hex')), t: Number(t) };
}
