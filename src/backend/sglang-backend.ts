import { type Dispatcher, Pool } from 'undici';
import { bufferPool } from '../mem/buffer-pool.js';
import { type CancelScope, CancelledError } from '../mem/cancel-scope.js';
import { noop, resumeLater } from '../mem/continuation.js';
import { BadGateway, BackendUnavailable, UpstreamError, isConnectFailure } from './errors.js';
import { BackendStats } from './backend-stats.js';
import { H1Pool } from './h1-pool.js';
import { LatencyWindow } from './latency-window.js';
import { type OutlierOptions, OutlierDetector } from './outlier-detector.js';
import { type BackendInfo, parseBackendInfo, parseEndpointContext } from './server-info.js';

export interface BackendOptions {
  url: string;
  apiKey: string | null;
  /** Key for SGLang's admin routes when the backend has its own admin_api_key (else apiKey). */
  adminApiKey?: string | null;
  connections: number;
  /** The passthrough pool: its connection cap and timeouts (see api/http/passthrough.ts). */
  passthrough?: { connections: number; headersTimeoutMs: number; bodyTimeoutMs: number };
  /** Budget for one scoring call, milliseconds. */
  callTimeoutMs: number;
  healthTimeoutMs: number;
  /** Passive outlier ejection settings (defaults: see OutlierDetector). */
  outlier?: OutlierOptions;
}

export interface BackendReply {
  status: number;
  /** Pooled buffer holding the body in [0, length); the caller releases it. */
  body: Buffer;
  length: number;
  contentType: string;
}

/** Tokenizer check at start: does the backend tokenize a probe like scorecar does? */
export type TokenizerCheck = 'match' | 'mismatch' | 'unknown';

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The largest scoring reply read (a reply is ~30 bytes per item and label). */
export const MAX_SCORE_REPLY_BYTES = 32 * 1024 * 1024;

/**
 * One SGLang server (or the emulator). Scoring calls to an http:// server go through H1Pool
 * (h1-pool.ts: lighter than undici on the hot path); everything else, and https servers, through
 * undici Pools with keep-alive connections (undici.request costs a third of fetch's CPU here,
 * deplab §4).
 */
export class SglangBackend {
  readonly url: string;
  readonly pool: Pool;
  /** Passed-through calls only: apart from `pool`, so streams and slow readers never hold scoring's connections. */
  readonly passthroughPool: Pool;
  /** Scoring calls' connections (http:// servers); null: they go through `pool`. */
  readonly scorePool: H1Pool | null;
  passthroughInflight = 0;
  info: BackendInfo | null = null;
  tokenizer: TokenizerCheck = 'unknown';
  healthy = false;
  inflight = 0;
  /** Prompt tokens of the scoring calls in flight here: what the fleet's pick balances. */
  outstandingTokens = 0;
  /** Passive health: consecutive failures eject it, a half-open trial call re-admits it. */
  readonly outlier: OutlierDetector;
  /** Latency of its successful scoring calls (the hedge delay is the fleet's p95). */
  readonly latency = new LatencyWindow();
  /** Errors by class, retries and hedges, for the per-backend metrics. */
  readonly stats = new BackendStats();
  /** Removed by discovery: no new calls; its pools close once the calls in flight finish. */
  draining = false;
  lastError = '';
  /** Set when a new connection to the server opened (it may have restarted): re-read its identity. */
  identityStale = true;
  /** performance.now() of the last identity read. */
  identityReadAt = Number.NEGATIVE_INFINITY;
  private readonly authHeaders: Record<string, string>;
  private readonly scoreHeaders: Record<string, string>;

  constructor(private readonly opts: BackendOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.outlier = new OutlierDetector(opts.outlier);
    this.pool = new Pool(this.url, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: opts.callTimeoutMs,
      bodyTimeout: opts.callTimeoutMs,
      connectTimeout: 5_000,
    });
    const pt = opts.passthrough ?? { connections: 32, headersTimeoutMs: 60_000, bodyTimeoutMs: 300_000 };
    this.passthroughPool = new Pool(this.url, {
      connections: pt.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: pt.headersTimeoutMs,
      bodyTimeout: pt.bodyTimeoutMs,
      connectTimeout: 5_000,
    });
    this.pool.on('connect', () => {
      this.identityStale = true;
    });
    this.authHeaders = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
    this.scoreHeaders = { ...JSON_HEADERS, ...this.authHeaders };
    const u = new URL(this.url);
    this.scorePool =
      u.protocol === 'http:'
        ? new H1Pool({
            host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: Number(u.port || 80),
            connections: opts.connections,
            timeoutMs: opts.callTimeoutMs,
            connectTimeoutMs: 5_000,
            idleTimeoutMs: 60_000,
            maxReplyBytes: MAX_SCORE_REPLY_BYTES,
            headers: this.authHeaders,
            onConnect: () => {
              this.identityStale = true;
            },
          })
        : null;
  }

  get name(): string {
    return this.url;
  }

  /**
   * The Authorization a passed-through call of an authenticated client carries: the backend
   * admin key on SGLang's admin routes when one is set, else the backend key; null when
   * scorecar has none (the client's own header then goes on).
   */
  passthroughAuthorization(admin: boolean): string | null {
    const key = (admin ? this.opts.adminApiKey : null) || this.opts.apiKey;
    return key ? `Bearer ${key}` : null;
  }

  private async getJson(path: string): Promise<{ status: number; value: unknown }> {
    const r = await this.pool.request({
      path,
      method: 'GET',
      headers: this.authHeaders,
      headersTimeout: this.opts.healthTimeoutMs,
      bodyTimeout: this.opts.healthTimeoutMs,
    });
    const text = await r.body.text();
    if (r.statusCode !== 200) return { status: r.statusCode, value: null };
    try {
      return { status: 200, value: JSON.parse(text) as unknown };
    } catch {
      throw new BadGateway(`${path} did not return JSON`);
    }
  }

  /** Reads /server_info and /model_info, falling back to the older paths. */
  async discover(): Promise<BackendInfo> {
    let si = await this.getJson('/server_info');
    if (si.status === 404) si = await this.getJson('/get_server_info');
    if (si.status !== 200 || typeof si.value !== 'object' || si.value === null) {
      throw new BackendUnavailable(`${this.url}: /server_info answered ${si.status}`);
    }
    let mi = await this.getJson('/model_info');
    if (mi.status === 404) mi = await this.getJson('/get_model_info');
    const modelInfo = mi.status === 200 && typeof mi.value === 'object' ? (mi.value as Record<string, unknown>) : null;
    const info = parseBackendInfo(si.value as Record<string, unknown>, modelInfo);
    // The install path only changes with the server: probe once per version, not on every re-read.
    const known = this.info;
    info.scoreEndpointContext =
      known !== null && known.version === info.version && known.scoreEndpointContext !== null ? known.scoreEndpointContext : await this.probeEndpointContext();
    this.info = info;
    return this.info;
  }

  /** A `null` body fails /v1/score's validation before any model work; its message names the endpoint. */
  private async probeEndpointContext(): Promise<string | null> {
    try {
      const r = await this.pool.request({
        path: '/v1/score',
        method: 'POST',
        headers: this.scoreHeaders,
        body: 'null',
        headersTimeout: this.opts.healthTimeoutMs,
        bodyTimeout: this.opts.healthTimeoutMs,
      });
      return parseEndpointContext(r.statusCode, await r.body.text());
    } catch {
      return null;
    }
  }

  /** The backend's ids for a probe text via /tokenize (or /v1/tokenize); null if it has neither. */
  async tokenize(text: string): Promise<number[] | null> {
    for (const path of ['/tokenize', '/v1/tokenize']) {
      const r = await this.pool.request({
        path,
        method: 'POST',
        headers: this.scoreHeaders,
        body: JSON.stringify({ prompt: text, add_special_tokens: false }),
        headersTimeout: this.opts.healthTimeoutMs,
        bodyTimeout: this.opts.healthTimeoutMs,
      });
      const body = await r.body.text();
      if (r.statusCode === 404 || r.statusCode === 405) continue;
      if (r.statusCode !== 200) return null;
      const v = JSON.parse(body) as { tokens?: unknown };
      return Array.isArray(v.tokens) ? (v.tokens as number[]) : null;
    }
    return null;
  }

  async checkHealth(): Promise<boolean> {
    try {
      const r = await this.pool.request({
        path: '/health',
        method: 'GET',
        headers: this.authHeaders,
        headersTimeout: this.opts.healthTimeoutMs,
        bodyTimeout: this.opts.healthTimeoutMs,
      });
      await r.body.dump();
      return r.statusCode === 200;
    } catch {
      return false;
    }
  }

  /**
   * POSTs a scoring body and reads the whole reply into a pooled buffer. Connection failures
   * before the request reached the server throw BackendUnavailable; breaks after that, BadGateway.
   * `headers` (x-request-id, traceparent) go with this call on top of the fixed ones.
   */
  async post(path: string, body: Uint8Array, scope?: CancelScope, headers?: Record<string, string>): Promise<BackendReply> {
    try {
      return await new Promise<BackendReply>((resolve, reject) => this.postCall(path, body, scope, headers, resolve, reject));
    } catch (e) {
      throw this.postFailure(e);
    } finally {
      this.postDone();
    }
  }

  /**
   * post() in parts, with continuations, for the scoring path (fleet-call.ts passes
   * continuations bound once: no promise per call): counts the call in flight and sends it.
   * Exactly one continuation runs, never before postCall returns; the caller maps a failure
   * with postFailure() and calls postDone() once the call has settled.
   */
  postCall(
    path: string,
    body: Uint8Array,
    scope: CancelScope | undefined,
    headers: Record<string, string> | undefined,
    ok: (r: BackendReply) => void,
    fail: (e: unknown) => void,
    /** The body is body[0, bodyLength) (a pooled writer's buffer). */
    bodyLength = body.length,
  ): void {
    this.inflight++;
    if (scope?.cancelled) {
      resumeLater(fail, new CancelledError());
      return;
    }
    if (this.scorePool !== null) this.scorePool.call(path, body, scope, headers, ok, fail, bodyLength);
    else this.dispatch(path, bodyLength === body.length ? body : body.subarray(0, bodyLength), scope, headers, ok, fail);
  }

  postDone(): void {
    this.inflight--;
  }

  /**
   * What a failed post() throws: a cancellation as is (the client left, which says nothing about
   * the backend, so it is not its lastError), else BackendUnavailable (not reached) or BadGateway.
   */
  postFailure(e: unknown): unknown {
    if ((e as Error)?.name === 'AbortError') return e;
    this.lastError = String((e as Error)?.message ?? e);
    if (isConnectFailure(e)) {
      this.healthy = false;
      return new BackendUnavailable(`${this.url}: ${this.lastError}`, { cause: e });
    }
    return new BadGateway(`${this.url}: ${this.lastError}`, { cause: e });
  }

  /** undici's dispatch with a handler object: no Readable stream or async iterator per call. */
  private dispatch(path: string, body: Uint8Array, scope: CancelScope | undefined, headers: Record<string, string> | undefined, ok: (r: BackendReply) => void, fail: (e: unknown) => void): void {
    const call = new ScoreCall(scope);
    call.resolve = ok;
    call.reject = fail;
    try {
      this.pool.dispatch({ path, method: 'POST', headers: headers === undefined ? this.scoreHeaders : { ...this.scoreHeaders, ...headers }, body }, call);
    } catch (e) {
      call.failWith(e);
    }
    call.dispatching = false;
  }

  /** An error reply as an exception carrying the body, for relaying. */
  static upstreamError(reply: BackendReply): UpstreamError {
    const body = Buffer.from(reply.body.subarray(0, reply.length));
    bufferPool.release(reply.body);
    return new UpstreamError(reply.status, body, reply.contentType);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.passthroughPool.destroy(), this.scorePool?.close()]);
  }

  /** Closes at once, failing whatever is still in flight (a drain that ran out of time). */
  async destroy(): Promise<void> {
    await Promise.all([this.pool.destroy(), this.passthroughPool.destroy(), this.scorePool?.destroy()]);
  }
}

/** One backend call's response, collected into a pooled buffer. */
class ScoreCall implements Dispatcher.DispatchHandler {
  resolve: (r: BackendReply) => void = noop;
  reject: (e: unknown) => void = noop;
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private contentType = 'application/json';
  private buf: Buffer | null = null;
  private length = 0;
  private cancelled = false;
  /** Inside pool.dispatch(): undici reports a closed pool there, synchronously; the ending waits a tick (postCall's contract). */
  dispatching = true;

  constructor(private readonly scope: CancelScope | undefined) {
    scope?.add(this);
  }

  /** The client went away: abort the call (the scope calls this). */
  cancel(): void {
    this.cancelled = true;
    if (this.controller) this.controller.abort(new CancelledError());
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancelled) controller.abort(new CancelledError());
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    const ct = headers['content-type'];
    if (typeof ct === 'string') this.contentType = ct;
    const declared = Number(headers['content-length']);
    this.buf = bufferPool.acquire(Number.isFinite(declared) && declared > 0 ? declared : 4096);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    let buf = this.buf as Buffer;
    if (this.length + chunk.length > buf.length) {
      const next = bufferPool.acquire(Math.max(buf.length * 2, this.length + chunk.length));
      buf.copy(next, 0, 0, this.length);
      bufferPool.release(buf);
      this.buf = buf = next;
    }
    chunk.copy(buf, this.length);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    this.scope?.delete(this);
    // Continuations, not a promise: each runs once however undici ends the call.
    const ok = this.resolve;
    this.resolve = noop;
    this.reject = noop;
    ok({ status: this.status, body: this.buf ?? bufferPool.acquire(1), length: this.length, contentType: this.contentType });
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.failWith(error);
  }

  failWith(error: unknown): void {
    this.scope?.delete(this);
    if (this.buf) bufferPool.release(this.buf);
    this.buf = null;
    const fail = this.reject;
    this.resolve = noop;
    this.reject = noop;
    const e = this.cancelled ? new CancelledError() : error;
    if (this.dispatching) resumeLater(fail, e);
    else fail(e);
  }
}
