// Getting refresh tokens before a refresh run, on each server through its own front door:
// Gatehouse: codes left by completeAuthorization (see gatehouse-server.ts), exchanged at POST /token;
// the peer: its authorization endpoint, its interaction (finished by peer-server.ts), the
// redirect with a code, and its token endpoint.
import { BENCH_PROJECT, BENCH_REDIRECT_URI, BENCH_SCOPE, pkcePair, type MintedCode, type ServerProcess } from './ipc.ts';

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Runs `work` for 0..count-1 with at most `parallel` at once, in order of start. */
export async function inParallel<T>(count: number, parallel: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

async function exchange(baseUrl: string, code: MintedCode): Promise<string> {
  const res = await fetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: FORM,
    body: form({ grant_type: 'authorization_code', client_id: BENCH_PROJECT, code: code.code, code_verifier: code.verifier, redirect_uri: BENCH_REDIRECT_URI }),
  });
  const body = (await res.json()) as { refresh_token?: string; error?: string };
  if (res.status !== 200 || !body.refresh_token) throw new Error(`code exchange answered ${res.status} ${JSON.stringify(body)}`);
  return body.refresh_token;
}

/** Codes minted a few thousand per request: the server never holds the whole pool at once. */
const MINT_CHUNK = 2000;

export async function mintCodes(server: ServerProcess, count: number): Promise<MintedCode[]> {
  const codes: MintedCode[] = [];
  while (codes.length < count) {
    const chunk = await server.command('mintCodes', { count: Math.min(MINT_CHUNK, count - codes.length), scope: BENCH_SCOPE });
    for (const code of chunk) codes.push(code);
  }
  return codes;
}

export async function gatehouseRefreshTokens(server: ServerProcess, count: number): Promise<string[]> {
  const codes = await mintCodes(server, count);
  return inParallel(count, 8, (i) => exchange(server.url, codes[i] as MintedCode));
}

/** One pass through the peer's authorization flow, answering a refresh token. */
async function peerRefreshToken(baseUrl: string): Promise<string> {
  const { verifier, challenge } = pkcePair();
  const cookies = new Map<string, string>();
  let url = `${baseUrl}/auth?${form({
    client_id: BENCH_PROJECT,
    response_type: 'code',
    redirect_uri: BENCH_REDIRECT_URI,
    scope: BENCH_SCOPE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'bench',
  })}`;
  for (let hop = 0; hop < 8; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (!location) throw new Error(`peer flow stopped at ${url} with ${res.status}`);
    if (location.startsWith(BENCH_REDIRECT_URI)) {
      const code = new URL(location).searchParams.get('code');
      if (!code) throw new Error(`peer redirect without a code: ${location}`);
      return exchange(baseUrl, { code, verifier });
    }
    url = new URL(location, baseUrl).toString();
  }
  throw new Error('peer flow did not end in a redirect to the client');
}

export function peerRefreshTokens(baseUrl: string, count: number): Promise<string[]> {
  return inParallel(count, 8, () => peerRefreshToken(baseUrl));
}
