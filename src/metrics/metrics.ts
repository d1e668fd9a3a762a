// Prometheus metrics of one app, on a registry of its own (several apps may share a process,
// as the tests do). Each counter has one source: HTTP outcomes (requests, latency, logins,
// rate-limit refusals, tokens issued) are read from the response of the route that produced
// them, refresh-token reuse, which no response tells apart, from the audit log's event, and
// hashes refused for a full queue from the password hasher.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/audit-log.ts';

/** The login endpoints and the method each stands for. */
const LOGIN_ROUTES: Readonly<Record<string, string>> = {
  'POST /login': 'password',
  'POST /login/pin': 'pin',
  'POST /magic-link/verify': 'magic_link',
  'POST /register': 'registration',
};

const LOGIN_OUTCOMES = ['success', 'failure', 'rate_limited', 'error'] as const;
const GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;

interface ResponseOutcome {
  method: string;
  /** the route pattern (/admin/projects/:id), never the raw URL, so the label set stays small */
  route: string;
  status: number;
  seconds: number;
  /** grant_type of a POST /token */
  grantType?: string | undefined;
}

function loginOutcome(status: number): (typeof LOGIN_OUTCOMES)[number] {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'error';
  return status < 400 ? 'success' : 'failure';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;
  private readonly logins: Counter<'method' | 'outcome'>;
  private readonly rateLimited: Counter<'route'>;
  private readonly tokensIssued: Counter<'grant_type'>;
  private readonly reuseDetected: Counter;
  private readonly hashQueueFull: Counter;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    this.requests = new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time from receiving a request to finishing its answer, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.logins = new Counter({
      name: 'gatehouse_logins_total',
      help: 'Login attempts by method (password, pin, magic_link, registration) and outcome',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'gatehouse_rate_limited_total',
      help: 'Requests refused with 429 Rate limited, by route pattern',
      labelNames: ['route'],
      registers,
    });
    this.tokensIssued = new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Successful token responses by grant type',
      labelNames: ['grant_type'],
      registers,
    });
    this.reuseDetected = new Counter({
      name: 'gatehouse_refresh_token_reuse_detected_total',
      help: 'Used refresh tokens presented again (each revoked its session)',
      registers,
    });
    this.hashQueueFull = new Counter({
      name: 'gatehouse_password_hash_queue_full_total',
      help: 'Password hashes refused at once (503) because GATEHOUSE_HASH_QUEUE hashes were already waiting',
      registers,
    });
    // Every series a dashboard expects exists from the start, at zero.
    for (const method of Object.values(LOGIN_ROUTES)) for (const outcome of LOGIN_OUTCOMES) this.logins.inc({ method, outcome }, 0);
    for (const grantType of GRANT_TYPES) this.tokensIssued.inc({ grant_type: grantType }, 0);
  }

  observeResponse(outcome: ResponseOutcome): void {
    const labels = { method: outcome.method, route: outcome.route, status: String(outcome.status) };
    this.requests.inc(labels);
    this.latency.observe(labels, outcome.seconds);
    if (outcome.status === 429) this.rateLimited.inc({ route: outcome.route });
    const loginMethod = LOGIN_ROUTES[`${outcome.method} ${outcome.route}`];
    if (loginMethod) this.logins.inc({ method: loginMethod, outcome: loginOutcome(outcome.status) });
    if (outcome.method === 'POST' && outcome.route === '/token' && outcome.status === 200) {
      const grantType = GRANT_TYPES.find((g) => g === outcome.grantType);
      if (grantType) this.tokensIssued.inc({ grant_type: grantType });
    }
  }

  observeAuditEvent(event: AuditEvent): void {
    if (event.type === 'refresh_token.reuse_detected') this.reuseDetected.inc();
  }

  /** Told by the password hasher, which no response tells apart from other 503s. */
  observeHashQueueFull(): void {
    this.hashQueueFull.inc();
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
