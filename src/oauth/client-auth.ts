// Client credentials from the body or HTTP Basic (RFC 6749 §2.3.1).
import type { FastifyRequest } from 'fastify';
import { field, type Fields } from '../http/fields.ts';

interface ClientCredentials {
  clientId?: string;
  clientSecret?: string;
}

function decodeFormComponent(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function basicCredentials(request: FastifyRequest): ClientCredentials {
  const header = request.headers.authorization;
  if (!header || !/^basic /i.test(header)) return {};
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return {};
  // §2.3.1: both parts are form-urlencoded before they are joined.
  const clientId = decodeFormComponent(decoded.slice(0, colon));
  const clientSecret = decodeFormComponent(decoded.slice(colon + 1));
  return { ...(clientId ? { clientId } : {}), ...(clientSecret ? { clientSecret } : {}) };
}

export function clientCredentials(request: FastifyRequest, fields: Fields): ClientCredentials {
  const basic = basicCredentials(request);
  const clientId = field(fields, 'client_id') || basic.clientId;
  const clientSecret = field(fields, 'client_secret') || basic.clientSecret;
  return { ...(clientId ? { clientId } : {}), ...(clientSecret ? { clientSecret } : {}) };
}
