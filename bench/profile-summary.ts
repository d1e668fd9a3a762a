// node --import tsx bench/profile-summary.ts <file.cpuprofile> [top] [--busiest S]
// Where a server's CPU went during a bench run (npm run bench -- --profile): self time per
// function and per package/file, from the V8 profile that --cpu-prof wrote. With --busiest S,
// only the S seconds with the least idle time count: the load runs, without the start-up and
// the setup steps before them.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const busiestAt = args.indexOf('--busiest');
const busiestS = busiestAt >= 0 ? Number(args.splice(busiestAt, 2)[1]) : undefined;
const [file, topArg] = args;
if (!file || (busiestS !== undefined && !(busiestS > 0))) {
  console.error('usage: bench/profile-summary.ts <file.cpuprofile> [top] [--busiest S]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));

/** [first, end) sample indexes of the window of `seconds` with the least idle time. */
function busiestWindow(seconds: number): [number, number] {
  const span = seconds * 1e6;
  let best: [number, number] = [0, profile.samples.length];
  let bestIdle = Infinity;
  let first = 0;
  let time = 0;
  let idle = 0;
  for (let end = 0; end < profile.samples.length; end++) {
    const delta = profile.timeDeltas[end] ?? 0;
    time += delta;
    if (idleIds.has(profile.samples[end] ?? -1)) idle += delta;
    while (time > span && first < end) {
      const gone = profile.timeDeltas[first] ?? 0;
      time -= gone;
      if (idleIds.has(profile.samples[first] ?? -1)) idle -= gone;
      first++;
    }
    if (time >= span * 0.99 && idle < bestIdle) {
      bestIdle = idle;
      best = [first, end + 1];
    }
  }
  return best;
}

const [from, to] = busiestS === undefined ? [0, profile.samples.length] : busiestWindow(busiestS);
const selfUs = new Map<number, number>();
for (let i = from; i < to; i++) {
  const id = profile.samples[i] ?? -1;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function where(url: string): string {
  if (!url) return '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const src = /\/((?:src|bench)\/.*)$/.exec(url);
  if (src?.[1]) return src[1];
  return url.replace(/^file:\/\//, '');
}

const functions = new Map<string, number>();
const places = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const place = where(url);
  const key = `${functionName || '(anonymous)'}  ${place}${url ? `:${lineNumber + 1}` : ''}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
  places.set(place, (places.get(place) ?? 0) + us);
}

// Inclusive time: each sample counts once for every function on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const keyOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'}  ${where(url)}${url ? `:${lineNumber + 1}` : ''}`;
};
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at);
    if (!node) break;
    const key = keyOf(node);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const show = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled${busiestS === undefined ? '' : ` (the busiest ${busiestS} s)`}`);
show('self time by package / file', places);
show('self time by function', functions);
show('inclusive time by function (own code and what it calls)', inclusive);
