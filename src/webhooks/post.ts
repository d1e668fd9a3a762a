// One try of a delivery on the wire, for every kind of delivery (a webhook's event, a logout
// token): a POST that a 2xx answer within the timeout delivers. Redirects are not followed
// (docs/decisions/0108-webhook-retry-schedule-and-timeout.md), and the answer's body is not read
// beyond what it takes to free the connection.
import type { TryOutcome } from './outbox.ts';

export async function postOnce(url: string, request: { headers: Record<string, string>; body: string; timeoutMs: number }): Promise<TryOutcome> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}`, durationMs: performance.now() - started };
  } catch (error) {
    const name = (error as Error).name;
    const message = name === 'TimeoutError' ? `no answer within ${request.timeoutMs} ms` : `not delivered: ${causeOf(error)}`;
    return { ok: false, status: null, error: message, durationMs: performance.now() - started };
  }
}

/** What a failed fetch says, without the stack: "fetch failed" alone names nothing. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
