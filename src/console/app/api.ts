// The admin API, as the console calls it: the same requests a script makes, with the console's
// access token; a 401 gets one refresh and one retry, so an expired token never costs the work.
import { currentAccessToken, issuer, refresh } from './auth.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly detail: string | undefined,
  ) {
    super(detail !== undefined ? `${error}: ${detail}` : error);
  }
}

type Query = Record<string, string | number | undefined>;

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

const REASONS: Record<string, string> = {
  too_short: 'at least 8 characters',
  too_long: 'at most 256 characters',
  common: 'a commonly used password',
};

async function send(method: string, path: string, body: unknown): Promise<Response> {
  const token = currentAccessToken();
  return fetch(`${issuer()}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    credentials: 'omit',
  });
}

export async function api<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  const url = withQuery(path, options.query);
  let response = await send(method, url, options.body);
  if (response.status === 401 && (await refresh())) response = await send(method, url, options.body);
  if (response.status === 204) return undefined as T;
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error = typeof answer.error === 'string' ? answer.error : `The server answered ${response.status}`;
    const reason = typeof answer.reason === 'string' ? REASONS[answer.reason] ?? answer.reason : undefined;
    const detail = typeof answer.detail === 'string' ? answer.detail : reason;
    throw new ApiError(response.status, error, detail);
  }
  return answer as T;
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, query ? { query } : {});
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body !== undefined ? { body } : {});
export const patch = <T>(path: string, body: unknown) => api<T>('PATCH', path, { body });
export const put = <T>(path: string) => api<T>('PUT', path);
export const del = (path: string) => api<void>('DELETE', path);

export const enc = encodeURIComponent;

// The shapes the console reads (docs/admin-api.md).
export interface Project {
  id: string;
  name: string;
  redirect_uris: string[];
  confidential: boolean;
  registration_open: boolean;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

export interface User {
  id: string;
  email: string;
  email_verified: boolean;
  is_admin: boolean;
  has_password: boolean;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  locale: string | null;
  created_at: string;
  mfa?: { totp: boolean; passkeys: number; recovery_codes_left: number };
}

export interface Member {
  user_id: string;
  email: string;
  blocked: boolean;
}

export interface Pin {
  id: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface Session {
  id: string;
  subject: string;
  method: string;
  created_at: string;
  expires_at: string;
  project_id?: string;
}

export interface BrowserSession {
  id: string;
  created_at: string;
  [field: string]: unknown;
}

export interface AuditEvent {
  id: string;
  at: string;
  type: string;
  outcome: string;
  project_id: string | null;
  subject: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown> | null;
}

export interface SigningKey {
  kid: string;
  alg: string;
  state: string;
  created_at: string;
  signs_from: string;
  published_until: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  project: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status: string;
  last_status: number | null;
  last_error: string | null;
  duration_ms: number | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

// The server's own shape (a type only: nothing of the server is bundled).
export type { Connection } from '../../federation/connections.ts';
