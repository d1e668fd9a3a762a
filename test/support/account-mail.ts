// The account mails of docs/accounts.md as the test SMTP server receives them. A reset or a
// "send the link again" is mailed after the answer (so that the answer's timing says nothing
// about the account), so a test waits for the message to arrive, with a bound.
import type { LightMyRequestResponse } from 'fastify';
import type { ReceivedMail, TestSmtpServer } from './smtp.ts';

/** The `count`-th message to `address` (1-based), once it has arrived; fails after `timeoutMs`. */
export async function waitForMail(smtp: TestSmtpServer, address: string, count: number, timeoutMs = 5000): Promise<ReceivedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mail = smtp.to(address)[count - 1];
    if (mail) return mail;
    if (Date.now() > deadline) throw new Error(`no message ${count} to ${address} within ${timeoutMs} ms (${smtp.to(address).length} arrived)`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The token of a `<issuer><path>?token=` link in a message's text part. */
export function linkToken(mail: ReceivedMail, path: '/password-reset/verify' | '/verify-email'): string {
  const match = new RegExp(`${path.replace(/\//g, '\\/')}\\?token=([A-Za-z0-9_%-]+)`).exec(mail.text);
  if (!match?.[1]) throw new Error(`no ${path} link in the message:\n${mail.text}`);
  return decodeURIComponent(match[1]);
}

/** The browser session cookie an answer sets (name=value), for the next request's Cookie header. */
export function browserCookie(response: LightMyRequestResponse): string {
  const header = response.headers['set-cookie'];
  const match = /^(gatehouse_session=[A-Za-z0-9_-]+);/.exec(String(header));
  if (!match?.[1]) throw new Error(`no browser session cookie: ${String(header)}`);
  return match[1];
}

/** The string fields of a request, as a form (or query string) takes them. */
export function asForm(fields: object): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}
