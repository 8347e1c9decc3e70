import { Pool } from 'undici';

/**
 * Open-loop load for the overload bench and test: requests start on a fixed schedule whatever
 * the answers do (a closed loop would slow down with the server and hide overload), and every
 * request is accounted for exactly once: answered with a status, or failed in transport.
 */
export interface OpenLoopConfig {
  /** Base URL of the server; requests go to path. */
  url: string;
  path: string;
  body: Buffer;
  rps: number;
  seconds: number;
  /** Client-side bound per request (an answer later than this counts as a timeout). */
  timeoutMs: number;
  /** Connections to keep (at least the requests expected in flight). */
  connections: number;
}

export interface OpenLoopResult {
  sent: number;
  /** Answers by HTTP status. */
  byStatus: Record<number, number>;
  /** Requests with no answer: transport errors and client timeouts. */
  transportErrors: number;
  timeouts: number;
  /** Requests that settled more than once (must be 0: exactly one answer each). */
  doubleSettled: number;
  /** 429 answers without a Retry-After header. */
  shedWithoutRetryAfter: number;
  /** Latency of 200 answers, ms, sorted. */
  acceptedMs: number[];
  /** Time to a 429, ms, sorted. */
  shedMs: number[];
  /** Arrivals that started late because the load generator fell behind (> 50 ms). */
  lateStarts: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export async function runOpenLoop(cfg: OpenLoopConfig): Promise<OpenLoopResult> {
  const pool = new Pool(cfg.url, { connections: cfg.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const r: OpenLoopResult = {
    sent: 0,
    byStatus: {},
    transportErrors: 0,
    timeouts: 0,
    doubleSettled: 0,
    shedWithoutRetryAfter: 0,
    acceptedMs: [],
    shedMs: [],
    lateStarts: 0,
  };
  const total = Math.round(cfg.rps * cfg.seconds);
  const interval = 1000 / cfg.rps;
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((res) => setTimeout(res, wait));
    if (performance.now() - due > 50) r.lateStarts++;
    r.sent++;
    inflight.push(one(pool, cfg, r));
  }
  await Promise.all(inflight);
  await pool.close();
  r.acceptedMs.sort((a, b) => a - b);
  r.shedMs.sort((a, b) => a - b);
  return r;
}

async function one(pool: Pool, cfg: OpenLoopConfig, r: OpenLoopResult): Promise<void> {
  const started = performance.now();
  let settled = 0;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), cfg.timeoutMs);
  try {
    const res = await pool.request({
      path: cfg.path,
      method: 'POST',
      body: cfg.body,
      headers: { 'content-type': 'application/json' },
      signal: ac.signal,
    });
    await res.body.arrayBuffer();
    const ms = performance.now() - started;
    settled++;
    r.byStatus[res.statusCode] = (r.byStatus[res.statusCode] ?? 0) + 1;
    if (res.statusCode === 200) r.acceptedMs.push(ms);
    if (res.statusCode === 429) {
      r.shedMs.push(ms);
      if (res.headers['retry-after'] === undefined) r.shedWithoutRetryAfter++;
    }
  } catch (e) {
    settled++;
    if (ac.signal.aborted) r.timeouts++;
    else r.transportErrors++;
    void e;
  } finally {
    clearTimeout(timer);
    if (settled !== 1) r.doubleSettled++;
  }
}

/**
 * The emulator's capacity in requests per second for one body: a closed loop with enough
 * clients to keep it saturated, straight at the emulator, for `seconds`.
 */
export async function measureCapacity(url: string, path: string, body: Buffer, clients: number, seconds: number): Promise<number> {
  const pool = new Pool(url, { connections: clients, pipelining: 1 });
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const res = await pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`capacity probe: status ${res.statusCode}`);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  const took = (performance.now() - t0) / 1000;
  await pool.close();
  return done / took;
}
