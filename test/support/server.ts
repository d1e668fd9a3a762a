// A real listening server (for clients that speak HTTP, not app.inject).
import { createServer } from 'node:net';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { testEnv } from './app.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A whole app listening on 127.0.0.1 at a free port, its issuer that address (the browser tests). */
export async function listeningApp(env: Record<string, string> = {}): Promise<{ app: App; issuer: string }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port), ...env })) });
  await app.server.listen({ port, host: '127.0.0.1' });
  return { app, issuer };
}
