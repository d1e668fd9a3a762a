// A tiny relying-party web server for the browser tests: it serves the files it is given (a
// single-page app) and answers every other path (a callback) with a small page, recording each
// request so that a test can read what the browser was sent back with.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AppFile {
  contentType: string;
  body: string;
}

export interface AppServer {
  /** `http://127.0.0.1:<port>`: an origin of its own, not the issuer's. */
  origin: string;
  /** Every request the browser made, in order. */
  requests: URL[];
  close(): Promise<void>;
}

export async function startAppServer(files: Record<string, AppFile> = {}): Promise<AppServer> {
  const requests: URL[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    requests.push(url);
    const file = files[url.pathname];
    if (file) {
      res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-store' });
      res.end(file.body);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>The app</title><p>Welcome back');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
