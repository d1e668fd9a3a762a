// A browser over app.inject for the account page's tests: keeps cookies (by path), sends them
// back, follows nothing by itself; and the helpers that read its answers.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ISSUER, type TestApp } from './app.ts';

export const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin', origin: ISSUER };

/** A browser over app.inject: keeps cookies (by path), sends them back, follows nothing by itself. */
export class Browser {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  constructor(private readonly app: TestApp) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  setCookie(name: string, value: string, path = '/'): void {
    this.cookies.set(name, { value, path });
  }

  private header(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || path.startsWith(`${c.path}?`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private keep(response: LightMyRequestResponse): void {
    const raw = response.headers['set-cookie'];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)]) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      if (attributes.some((a) => a.toLowerCase() === 'max-age=0')) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair.slice(at + 1), path });
    }
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const path = toPath(url);
    const response = await this.app.server.inject({ method: 'GET', url: path, headers: { accept: 'text/html', cookie: this.header(path), ...headers } });
    this.keep(response);
    return response;
  }

  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = SAME_ORIGIN): Promise<LightMyRequestResponse> {
    const response = await this.app.server.inject({
      method: 'POST',
      url,
      payload: new URLSearchParams(fields).toString(),
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: this.header(url), ...headers },
    });
    this.keep(response);
    return response;
  }
}

/** A Location of this issuer as a path for inject. */
export function toPath(url: string): string {
  return url.startsWith(ISSUER) ? url.slice(ISSUER.length) : url;
}

export function location(response: LightMyRequestResponse): string {
  assert.equal(response.statusCode, 303, response.body);
  return String(response.headers.location);
}

export function csrfOf(page: LightMyRequestResponse): string {
  const token = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, 'the page carries a CSRF token');
  return token;
}
