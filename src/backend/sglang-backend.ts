import { Pool } from 'undici';
import { bufferPool } from '../mem/buffer-pool.js';
import { BadGateway, BackendUnavailable, UpstreamError, isConnectFailure } from './errors.js';
import { type BackendInfo, parseBackendInfo } from './server-info.js';

export interface BackendOptions {
  url: string;
  apiKey: string | null;
  connections: number;
  /** Budget for one scoring call, milliseconds. */
  callTimeoutMs: number;
  healthTimeoutMs: number;
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

/**
 * One SGLang server (or the emulator) behind an undici Pool with keep-alive connections.
 * undici.request on a Pool costs a third of fetch's CPU here (deplab §4).
 */
export class SglangBackend {
  readonly url: string;
  readonly pool: Pool;
  info: BackendInfo | null = null;
  tokenizer: TokenizerCheck = 'unknown';
  healthy = false;
  inflight = 0;
  consecutiveFailures = 0;
  lastError = '';
  private readonly authHeaders: Record<string, string>;
  private readonly scoreHeaders: Record<string, string>;

  constructor(private readonly opts: BackendOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.pool = new Pool(this.url, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: opts.callTimeoutMs,
      bodyTimeout: opts.callTimeoutMs,
      connectTimeout: 5_000,
    });
    this.authHeaders = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
    this.scoreHeaders = { ...JSON_HEADERS, ...this.authHeaders };
  }

  get name(): string {
    return this.url;
  }

  /** Headers scorecar adds to its own calls (the backend key), for the passthrough too. */
  get apiKeyHeader(): string | null {
    return this.opts.apiKey ? `Bearer ${this.opts.apiKey}` : null;
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
    this.info = parseBackendInfo(si.value as Record<string, unknown>, modelInfo);
    return this.info;
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
   */
  async post(path: string, body: Uint8Array, signal?: AbortSignal): Promise<BackendReply> {
    this.inflight++;
    let out: Buffer | null = null;
    try {
      const r = await this.pool.request({ path, method: 'POST', headers: this.scoreHeaders, body, signal });
      out = bufferPool.acquire(4096);
      let length = 0;
      for await (const chunk of r.body as AsyncIterable<Buffer>) {
        if (length + chunk.length > out.length) {
          const next = bufferPool.acquire(Math.max(out.length * 2, length + chunk.length));
          out.copy(next, 0, 0, length);
          bufferPool.release(out);
          out = next;
        }
        chunk.copy(out, length);
        length += chunk.length;
      }
      const ct = r.headers['content-type'];
      this.consecutiveFailures = 0;
      return { status: r.statusCode, body: out, length, contentType: typeof ct === 'string' ? ct : 'application/json' };
    } catch (e) {
      if (out) bufferPool.release(out);
      this.consecutiveFailures++;
      this.lastError = String((e as Error)?.message ?? e);
      if ((e as Error)?.name === 'AbortError') throw e;
      if (isConnectFailure(e)) {
        this.healthy = false;
        throw new BackendUnavailable(`${this.url}: ${this.lastError}`);
      }
      throw new BadGateway(`${this.url}: ${this.lastError}`);
    } finally {
      this.inflight--;
    }
  }

  /** An error reply as an exception carrying the body, for relaying. */
  static upstreamError(reply: BackendReply): UpstreamError {
    const body = Buffer.from(reply.body.subarray(0, reply.length));
    bufferPool.release(reply.body);
    return new UpstreamError(reply.status, body, reply.contentType);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
