// One measured run: autocannon (as a library) against a URL for a fixed time with a fixed
// number of connections, while the server's resident memory is watched from /proc.
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * What one connection sends next. `next` is called before every request and may answer
 * undefined when it has nothing left to send (the run then stops early); `done` sees each
 * answer with the value `next` returned alongside the request.
 */
export interface Workload<T = unknown> {
  next(): { request: HttpRequest; state?: T } | undefined;
  /**
   * The same request every time, with nothing to see in the answers: autocannon then builds it
   * once instead of before every request, so the load generator spends less of the CPU the
   * servers share (the GET scenarios saturate the generator first).
   */
  fixed?: HttpRequest;
  done?(status: number, body: string, state: T | undefined, headers: AnswerHeaders): void;
  /** an upper bound of requests the workload can serve (pools of single-use codes) */
  limit?: number;
  /**
   * For a workload whose unit is more than one request (a redirect and the exchange that follows
   * it): counted by the workload itself, from `begin` (called right before the run) to `end`.
   * The run's rate, latencies and CPU per unit are then the workload's units, not 2xx answers.
   */
  units?: { begin(): void; end(): UnitTally };
}

/** The answer's headers as autocannon hands them over: names as the server wrote them, repeated ones in an array. */
export type AnswerHeaders = Record<string, string | string[] | undefined>;

/** A header of an answer, whatever the case of its name as sent. */
export function answerHeader(headers: AnswerHeaders, name: string): string[] {
  const found: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    found.push(...(Array.isArray(value) ? value : [value]));
  }
  return found;
}

export interface UnitTally {
  /** units completed during the run */
  completed: number;
  /** each completed unit's time, first request sent to last answer read, in milliseconds */
  latenciesMs: number[];
  /** answers that were 2xx or 3xx yet not what the unit needed (a login page instead of a code) */
  unexpected: number;
}

export interface LoadResult {
  /** 2xx answers per second over the run (for a workload with units: completed units per second) */
  rps: number;
  ok: number;
  /**
   * every answer that was neither 2xx nor 3xx, plus socket errors, timeouts and the answers a
   * workload with units found wrong; a run with any fails (docs/performance.md)
   */
  errors: number;
  statuses: Record<string, number>;
  /** latency percentiles of the 2xx answers (of the units, for a workload with units), in milliseconds */
  p50: number;
  p99: number;
  durationS: number;
  /** peak resident set of the server process during the run, in MiB (0 if unknown) */
  peakRssMiB: number;
  /** CPU time the server process used (all its threads) per 2xx answer, in microseconds */
  cpuUsPerOk: number;
  /** share of one core the load generator (this process) used: near 100 % means the run was client-bound */
  driverCpuPct: number;
}

/** user + system CPU time of a process so far, in microseconds (proc(5): utime, stime in clock ticks) */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/**
 * Waits until the servers have finished what an earlier run left them: the load generator stops
 * at the end of its duration, but requests it had sent go on (a password hash in the queue, a
 * group commit, a checkpoint). Without the wait their CPU and memory count in the next run.
 * Settled means at most one clock tick of CPU per process in 100 ms; it waits at most `maxMs`.
 */
export async function settle(pids: number[], maxMs = 3000): Promise<void> {
  const started = performance.now();
  let last = pids.map(processCpuUs);
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = pids.map(processCpuUs);
    if (now.every((us, i) => us - (last[i] ?? 0) <= 1e6 / CLOCK_TICKS)) return;
    last = now;
  }
}

export function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ? Number(match[1]) / 1024 : 0;
}

/** Watches a process's resident set: the kernel's high-water mark, reset at the start, and samples. */
export class RssWatch {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly hwmReset: boolean;

  constructor(private readonly pid: number) {
    let reset = false;
    try {
      // "5" resets VmHWM to the current RSS (proc(5), clear_refs), so the peak is this run's.
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      reset = true;
    } catch {
      reset = false;
    }
    this.hwmReset = reset;
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, statusField(this.pid, 'VmRSS'));
    } catch {
      // the process is gone; keep what was seen
    }
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    if (this.hwmReset) {
      try {
        this.peak = Math.max(this.peak, statusField(this.pid, 'VmHWM'));
      } catch {
        // as above
      }
    }
    return this.peak;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? 0;
}

export async function measure<T>(options: {
  url: string;
  connections: number;
  durationS: number;
  workload: Workload<T>;
  serverPid: number;
}): Promise<LoadResult> {
  const { workload } = options;
  const latencies: number[] = [];
  interface Context {
    state?: T;
  }
  workload.units?.begin();
  const first = workload.next();
  if (!first) throw new Error('the workload has nothing to send');
  let pending: { request: HttpRequest; state?: T } | undefined = first;
  const take = () => {
    if (pending) {
      const value = pending;
      pending = undefined;
      return value;
    }
    return workload.next();
  };
  let exhausted = false;
  const dynamic: autocannon.Request = {
    setupRequest: (req, context) => {
      const item = take();
      const ctx = context as Context;
      if (!item) {
        // Nothing left: a harmless request keeps the connection busy until the run ends;
        // it is not counted (it answers 404 and the run is cut at `limit`).
        exhausted = true;
        delete ctx.state;
        return { ...req, method: 'GET', path: '/.bench-exhausted', body: undefined };
      }
      if (item.state !== undefined) ctx.state = item.state;
      else delete ctx.state;
      return {
        ...req,
        method: item.request.method,
        path: item.request.path,
        headers: item.request.headers ?? {},
        ...(item.request.body !== undefined ? { body: item.request.body } : { body: undefined }),
      };
    },
    onResponse: (status, body, context, headers) => {
      workload.done?.(status, body, (context as Context).state, (headers ?? {}) as AnswerHeaders);
    },
  };

  const fixed = workload.fixed;
  const request: autocannon.Request = fixed
    ? { method: fixed.method, path: fixed.path, headers: fixed.headers ?? {}, ...(fixed.body !== undefined ? { body: fixed.body } : {}) }
    : dynamic;

  const watch = new RssWatch(options.serverPid);
  const cpuBefore = processCpuUs(options.serverPid);
  const driverBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let lastAnswerAt = wallBefore;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        // A pool of single-use codes runs until it is spent (`amount`: the duration is then ignored).
        ...(workload.limit !== undefined ? { amount: workload.limit } : { duration: options.durationS }),
        requests: [request],
        timeout: 30,
      },
      (error: Error | null, res: autocannon.Result) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      lastAnswerAt = performance.now();
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const peakRssMiB = watch.stop();
  const tally = workload.units?.end();
  const cpuUs = processCpuUs(options.serverPid) - cpuBefore;
  const driver = process.cpuUsage(driverBefore);
  const driverCpuPct = ((driver.user + driver.system) / 1000 / (performance.now() - wallBefore)) * 100;
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  const ok = tally ? tally.completed : latencies.length;
  const sorted = Float64Array.from(tally ? tally.latenciesMs : latencies).sort();
  const notFoundFiller = exhausted ? (statuses['404'] ?? 0) : 0;
  // Redirects are answers too (the authorization endpoint's 302/303): only what is neither 2xx
  // nor 3xx, and what the workload found wrong, counts against a run.
  let refused = 0;
  for (const [code, count] of Object.entries(statuses)) if (!/^[23]\d\d$/.test(code)) refused += count;
  const errors = refused - notFoundFiller + result.errors + (tally?.unexpected ?? 0);
  // A run of a pool ends when it is spent: its time is from the start to the last answer
  // (autocannon's own, and when it stops, go by whole seconds).
  const durationS = workload.limit !== undefined ? (lastAnswerAt - wallBefore) / 1000 : result.duration;
  return {
    rps: ok / durationS,
    ok,
    errors,
    statuses,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    durationS,
    peakRssMiB,
    cpuUsPerOk: ok > 0 ? cpuUs / ok : 0,
    driverCpuPct,
  };
}
