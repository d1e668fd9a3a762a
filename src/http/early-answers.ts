// The answers given before any hook runs: Fastify's for a URL it cannot decode (`/%`), Node's
// for a request it cannot parse (a header overflow, garbage, a request that did not arrive in
// time). They used to be Fastify's own JSON, without X-Request-Id or the security headers, and
// echoed the URL with its query string (which can hold a token). Now they are the catalogue's
// `{"error": …}` with the headers of every other answer, and say nothing of the request.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HeadersTooLarge, InvalidRequest, RequestTimeout, type ErrorFactory } from '../errors.ts';

export interface EarlyAnswerOptions {
  /** the security headers of every answer (everyAnswerHeaders) */
  headers: Record<string, string>;
  /** the request id source the server uses, so that the log line and the header agree */
  nextId: () => string;
  log: () => FastifyBaseLogger;
}

/** Node's code for what went wrong with a connection, when it could not become a request. */
function answerFor(code: string | undefined): ErrorFactory {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return RequestTimeout;
  if (code === 'HPE_HEADER_OVERFLOW') return HeadersTooLarge;
  return InvalidRequest;
}

/** Fastify's `frameworkErrors`: a URL it cannot decode answers 400 Invalid request, never echoing it. */
export function frameworkErrorAnswer({ headers }: EarlyAnswerOptions) {
  return (_error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void reply.headers(headers).header('x-request-id', request.id).code(InvalidRequest.status).type('application/json').send({ error: InvalidRequest.message });
  };
}

/**
 * Writes `answer` on the socket (there is no request to answer through), then closes the
 * connection once it is sent; what is still arriving is not read.
 */
export function answerOnSocket({ headers, nextId, log }: EarlyAnswerOptions, socket: Socket, answer: ErrorFactory, code: string | undefined, requestId?: string): void {
  // The request's own id when there was a request (a body that did not arrive during shutdown).
  const id = requestId ?? nextId();
  log().info({ reqId: id, code, remoteAddress: socket.remoteAddress, status: answer.status }, 'connection answered before its request was read');
  const body = JSON.stringify({ error: answer.message });
  const lines = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `x-request-id: ${id}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  socket.once('finish', () => socket.destroy());
  socket.setTimeout(1000, () => socket.destroy());
}

/** Fastify's `clientErrorHandler`: Node could not make a request of what arrived, or it did not arrive in time. */
export function clientErrorAnswer(options: EarlyAnswerOptions) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has no one left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    answerOnSocket(options, socket, answerFor(error.code), error.code);
  };
}

/** HTTP/1.1 requires a Host (RFC 9112 §3.2); Node's own refusal had no body and none of our headers. */
export function missingHost(request: FastifyRequest): boolean {
  return request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 1 && !request.headers.host;
}
