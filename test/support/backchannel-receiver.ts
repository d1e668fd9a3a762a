// A back-channel logout receiver of the test's own (an app's backchannel_logout_uri): a real
// HTTP server on 127.0.0.1 that records every POST and answers as the test says (a status, or
// never), and the check of a logout token with jose against the issuer's JWKS, independently of
// Gatehouse's code (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6).
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutPost {
  /** the path it was POSTed to (one receiver serves several projects by path) */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** the form's logout_token, if any */
  token: string | undefined;
}

export interface LogoutReceiver {
  /** the receiver's base URL; a project's URI is this plus a path of its own */
  url: string;
  received: LogoutPost[];
  /** how the next requests are answered: a status, or 'hang' (never answered) */
  answer: number | 'hang';
  /** the POSTs to one path */
  to(path: string): LogoutPost[];
  close(): Promise<void>;
}

export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const hanging: ServerResponse[] = [];
  const receiver: LogoutReceiver = {
    url: '',
    received: [],
    answer: 200,
    to: (path) => receiver.received.filter((got) => got.path === path),
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
      const token = new URLSearchParams(body).get('logout_token') ?? undefined;
      receiver.received.push({ path: new URL(req.url ?? '/', 'http://x').pathname, headers: req.headers, body, token });
      if (receiver.answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(receiver.answer, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface LogoutClaims extends JWTPayload {
  sid?: string;
  events?: Record<string, unknown>;
}

/**
 * Verifies a logout token as an app must (§2.6): the signature against the JWKS with the
 * project's algorithm, `typ` logout+jwt, iss, aud, iat/exp (2 minutes) at `now`, the event, a
 * `jti`, `sub` and/or `sid`, and no `nonce`. Answers the claims.
 */
export async function verifyLogoutToken(
  token: string | undefined,
  expected: { jwks: JSONWebKeySet; issuer: string; audience: string; alg: 'ES256' | 'RS256'; now: number },
): Promise<LogoutClaims> {
  assert.ok(token, 'a logout_token');
  const header = decodeProtectedHeader(token);
  assert.equal(header.typ, 'logout+jwt');
  assert.equal(header.alg, expected.alg);
  const { payload } = await jwtVerify<LogoutClaims>(token, createLocalJWKSet(expected.jwks), {
    issuer: expected.issuer,
    audience: expected.audience,
    algorithms: [expected.alg],
    typ: 'logout+jwt',
    currentDate: new Date(expected.now),
    requiredClaims: ['iat', 'exp', 'jti'],
  });
  assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
  assert.equal('nonce' in payload, false, 'a logout token carries no nonce');
  assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120, 'good for 2 minutes');
  assert.ok(typeof payload.sub === 'string' || typeof payload.sid === 'string');
  return payload;
}
