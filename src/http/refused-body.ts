// An early refusal must be heard. A request refused before its body was read (413 for a body
// over the limit, 415, a cross-site post, …) used to be answered while the client was still
// sending; the server then closed the connection with the rest unread, the kernel reset it, and
// the client saw EPIPE or ECONNRESET instead of the answer (seen with a 2 MB body). The rest of
// such a body is read and dropped, up to a bound, before the answer is sent; the connection then
// closes. A body declared larger than the bound is not waited for: it is answered at once.
import type { IncomingMessage } from 'node:http';

/** How much of a refused body is read and dropped so that its client hears the answer. */
export const REFUSED_BODY_DRAIN_BYTES = 8 * 1024 * 1024;

/** True when the request's body is still arriving (nothing has read it to its end). */
export function bodyStillArriving(raw: IncomingMessage): boolean {
  // `complete`: the whole message has arrived (Node); `readableEnded`: it has been read to its end
  // (what an injected request, which has no `complete`, tells).
  return raw.complete !== true && !raw.readableEnded && !raw.destroyed;
}

/**
 * Reads and drops the rest of the body, up to `limitBytes`; answers whether it all arrived. The
 * request timeout (GATEHOUSE_REQUEST_TIMEOUT_MS) still bounds how long this can take.
 */
export function drainRefusedBody(raw: IncomingMessage, limitBytes = REFUSED_BODY_DRAIN_BYTES): Promise<boolean> {
  if (!bodyStillArriving(raw)) return Promise.resolve(true);
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let dropped = 0;
    const finish = (complete: boolean) => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onFailure);
      raw.off('close', onFailure);
      resolve(complete);
    };
    const onData = (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > limitBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFailure = () => finish(raw.complete);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onFailure);
    raw.once('close', onFailure);
    raw.resume();
  });
}
