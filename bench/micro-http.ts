// node --import tsx bench/micro-http.ts [--path /.well-known/jwks.json] [--ms 4000] [--connections 10] [--repeat 3]
// The server's own CPU per answer of one GET, over real sockets: the app as buildApp builds it
// (compiled or not, as run) listens in this process, and a child process drives it with a
// client that does almost nothing per answer (raw keep-alive requests, answers counted by their
// Content-Length), so that on a machine others share the number is this process's CPU time per
// answer rather than requests/s, which the load generator and the neighbours move. Used to
// compare two versions of the code run one after the other (docs/performance.md).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    path: { type: 'string', default: '/.well-known/jwks.json' },
    ms: { type: 'string', default: '4000' },
    connections: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    client: { type: 'string' },
  },
});

if (values.client !== undefined) {
  // The child: drive 127.0.0.1:<port> until told to stop, then say how many answers came back.
  const port = Number(values.client);
  const request = Buffer.from(`GET ${values.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: */*\r\n\r\n`);
  let answers = 0;
  let bad = 0;
  for (let c = 0; c < Number(values.connections); c++) {
    const socket = connect(port, '127.0.0.1');
    let pending: Buffer = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
        if (pending.length < end + 4 + length) return;
        if (!head.startsWith('HTTP/1.1 200')) bad++;
        answers++;
        pending = pending.subarray(end + 4 + length);
        socket.write(request);
      }
    });
  }
  process.on('message', (message: string) => {
    process.send?.({ answers, bad }, () => {
      if (message === 'stop') process.exit(0);
    });
  });
} else {
  const { buildApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-micro-http-'));
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'micro.db')}`, GATEHOUSE_ISSUER: 'http://127.0.0.1:1', GATEHOUSE_LOG_LEVEL: 'warn' });
  const app = await buildApp({ config, logger: { level: 'warn' } });
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.server.address() as AddressInfo;
  const ms = Number(values.ms);
  for (let round = 1; round <= Number(values.repeat); round++) {
    const child = fork(new URL(import.meta.url).pathname, ['--client', String(port), '--path', values.path, '--connections', String(values.connections)], { execArgv: ['--import', 'tsx'] });
    await new Promise((resolve) => setTimeout(resolve, 500)); // connected and warm
    const before = process.cpuUsage();
    const started = performance.now();
    const first = await ask(child);
    await new Promise((resolve) => setTimeout(resolve, ms));
    const last = await ask(child, true);
    const used = process.cpuUsage(before);
    const seconds = (performance.now() - started) / 1000;
    const answers = last.answers - first.answers;
    console.log(
      `${values.path} #${round}: ${answers} answers in ${seconds.toFixed(1)} s (${Math.round(answers / seconds)}/s), server CPU ${((used.user + used.system) / answers).toFixed(2)} µs per answer (user ${(used.user / answers).toFixed(2)}, system ${(used.system / answers).toFixed(2)})${last.bad ? `, ${last.bad} not 200` : ''}`,
    );
  }
  await app.close();
  rmSync(dir, { recursive: true, force: true });
}

function ask(child: ReturnType<typeof fork>, stop = false): Promise<{ answers: number; bad: number }> {
  return new Promise((resolve) => {
    child.once('message', (message: { answers: number; bad: number }) => resolve(message));
    child.send(stop ? 'stop' : 'count');
  });
}
