// A back-channel logout receiver of the test's own (an app's backchannel_logout_uri): a real
// HTTP server on 127.0.0.1 that records every POST and answers as the test says (a status, or
// never), and the check of a logout token with jose against the issuer's JWKS, independently of
// Gatehouse's code (OpenID Connect Back-Channel Logout 1.0 §2.4, §2.6).
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { startRecordingServer } from './webhook-receiver.ts';
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
  const received: LogoutPost[] = [];
  const server = await startRecordingServer(
    (post) => received.push({ ...post, token: new URLSearchParams(post.body).get('logout_token') ?? undefined }),
    (res, status) => res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(),
  );
  return {
    url: server.origin,
    received,
    get answer() {
      return server.answer;
    },
    set answer(value) {
      server.answer = value;
    },
    to: (path) => received.filter((got) => got.path === path),
    close: () => server.close(),
  };
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
