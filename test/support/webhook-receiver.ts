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

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    received: [],
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
      const body = Buffer.concat(chunks).toString('utf8');
      receiver.received.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      if (receiver.answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(receiver.answer, { 'content-type': 'text/plain' }).end('seen');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}

/** Whether `header` (Gatehouse-Signature) signs `body` with `secret`: `t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>`. */
export function verifySignature(secret: string, header: string | string[] | undefined, body: string): { valid: boolean; t: number } {
  const match = typeof header === 'string' ? /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return { valid: false, t: Number.NaN };
  const [, t = '', v1 = ''] = match;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return { valid: timingSafeEqual(expected, Buffer.from(v1, 'hex')), t: Number(t) };
}
