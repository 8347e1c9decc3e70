import os from 'node:os';
import { parseDnsTarget } from '../backend/discovery.js';
import { isRedisSpec } from '../cache/redis-url.js';
import { type LogLevel, LOG_LEVELS } from '../observe/logger.js';
import { ConfigError, type OptionTable, resolveOptions } from './options.js';

export const SERVE_OPTIONS = {
  host: { type: 'string', default: '0.0.0.0', help: 'address to listen on' },
  port: { type: 'int', default: 30001, min: 0, help: 'HTTP port (SGLang-compatible API)' },
  'grpc-port': { type: 'int', default: 30002, min: 0, help: 'gRPC port' },
  backend: { type: 'list', default: [], help: 'SGLang server URL (repeat or comma-separate for several)' },
  'backend-file': { type: 'string', default: null, help: 'file listing SGLang server URLs, one per line (# comments); re-read when it changes, backends added and drained without a restart' },
  'backend-dns': { type: 'list', default: [], help: 'host:port (or http://host:port) resolved every --discovery-interval-ms to all its A/AAAA addresses, one backend each (a Kubernetes headless Service)' },
  'discovery-interval-ms': { type: 'int', default: 5000, min: 50, help: 'how often --backend-dns names are re-resolved and --backend-file re-checked' },
  'eject-consecutive-failures': { type: 'int', default: 5, min: 1, help: 'consecutive failed scoring calls (5xx, timeout, reset, refused) that eject a backend' },
  'eject-base-ms': { type: 'int', default: 2000, min: 1, help: 'first ejection of a backend, ms; doubles on each re-ejection, then one trial call decides' },
  'eject-max-ms': { type: 'int', default: 30000, min: 1, help: 'longest ejection of a backend, ms' },
  'retry-budget-ratio': { type: 'number', default: 0.2, min: 0, help: 'retries and hedges allowed per original scoring call (token bucket)' },
  'retry-min-per-s': { type: 'number', default: 5, min: 0, help: 'retries per second allowed whatever the traffic (so light traffic can retry)' },
  'max-attempts': { type: 'int', default: 3, min: 1, help: 'backends one scoring call may try in all, each a different one (1: no retries)' },
  hedge: { type: 'bool', default: false, help: "send a second copy of a scoring call to another backend when no answer came within the backends' p95 latency; the slower copy is cancelled" },
  'hedge-min-delay-ms': { type: 'number', default: 10, min: 0, help: 'shortest wait before a hedge is sent' },
  emulate: { type: 'bool', default: false, help: 'start the SGLang emulator and use it as the backend' },
  'emulator-port': { type: 'int', default: 30000, min: 0, help: 'port of the embedded emulator' },
  'emulator-profile': { type: 'string', default: 'zero', help: 'cost-model profile of the embedded emulator' },
  'emulator-mis': { type: 'bool', default: false, help: 'embedded emulator speaks multi-item scoring (--enable-mis)' },
  'api-key': { type: 'string', default: null, help: 'Bearer key clients must send (like SGLang --api-key)' },
  'admin-api-key': { type: 'string', default: null, help: 'Bearer key for /scorecar/ admin routes (defaults to --api-key)' },
  'backend-api-key': { type: 'string', default: null, help: 'Bearer key scorecar sends to backends (lent on passthrough only to clients that showed --api-key)' },
  'backend-admin-api-key': { type: 'string', default: null, help: "Bearer key for SGLang's admin routes when the backends have their own admin key (default --backend-api-key)" },
  'passthrough-connections': { type: 'int', default: 32, min: 1, help: 'connections per backend for passed-through routes, apart from scoring' },
  'passthrough-max-inflight': { type: 'int', default: 256, min: 1, help: 'passed-through calls in flight per backend (streams included); beyond, 503' },
  'passthrough-headers-timeout-ms': { type: 'int', default: 60000, min: 1, help: 'passthrough: longest wait for a backend response to start' },
  'passthrough-body-timeout-ms': { type: 'int', default: 300000, min: 1, help: 'passthrough: longest silence inside a backend response body (SSE streams included)' },
  'cache-key-secret': { type: 'string', default: null, help: 'secret keying score-cache and token-cache hashes and Redis value MACs; replicas sharing a cache need the same one (default: random per process)' },
  'max-pack-tokens': { type: 'int', default: null, min: 16, help: 'token budget of one multi-item pack (default min(backend max_req_input_len, 8192))' },
  'max-call-tokens': { type: 'int', default: 65536, min: 16, help: 'prompt tokens per single-item backend call' },
  'max-items': { type: 'int', default: 10000, min: 1, help: 'most items one request may carry' },
  'max-body-bytes': { type: 'int', default: 64 * 1024 * 1024, min: 1024, help: 'largest request body accepted' },
  'tokenizer-threads': { type: 'int', default: Math.max(1, Math.min(4, os.availableParallelism())), min: 1, help: 'tokenizer worker threads' },
  'tokenizer-path': { type: 'string', default: null, help: 'tokenizer.json to use instead of the bundled Qwen3 one' },
  'prefix-cache-mb': { type: 'int', default: 64, min: 1, help: 'bytes of the query/prefix token cache, MiB' },
  'item-cache-mb': { type: 'int', default: 512, min: 1, help: 'bytes of the item token cache, MiB' },
  'backend-connections': { type: 'int', default: 64, min: 1, help: 'keep-alive connections per backend' },
  'backend-timeout-ms': { type: 'int', default: 60000, min: 1, help: 'budget of one backend scoring call' },
  'health-interval-ms': { type: 'int', default: 1000, min: 10, help: 'backend health-check interval' },
  'identity-interval-ms': { type: 'int', default: 10000, min: 10, help: 'longest time between re-reads of a backend identity (model, weight version, mode, limits); also re-read on every new connection' },
  'vocab-size': { type: 'int', default: null, min: 1, help: "vocabulary bound: label ids (default: the tokenizer's base vocabulary) and input ids when the backend's /model_info has no vocab_size (default: len(tokenizer) with added tokens)" },
  'input-vocab': { type: 'int', default: null, min: 1, help: "input-id bound when the backend's /model_info has no vocab_size (SGLang 0.5.23 reports none): the model's embedding rows, config.json vocab_size (151936 for Qwen3). Default: --vocab-size, else len(tokenizer) with added tokens" },
  'score-cache': { type: 'string', default: 'memory', help: 'score cache: memory, off, redis://HOST:PORT[/DB] or valkey://HOST:PORT' },
  'score-cache-ttl-s': { type: 'int', default: 900, min: 1, help: 'score-cache entry lifetime, seconds' },
  'score-cache-mb': { type: 'int', default: 256, min: 1, help: 'bytes of the in-memory score cache, MiB' },
  'coalesce-window-ms': { type: 'number', default: 2, min: 0, help: 'window in which same-query requests share a backend call (0: off)' },
  'shaper-budget-tokens': { type: 'int', default: 131072, min: 1, help: 'in-flight prompt tokens the traffic shaper admits (static budget)' },
  'slo-ms': { type: 'number', default: 500, min: 1, help: 'latency objective assumed for scoring requests; the queue-time bound and the adaptive budget target derive from it' },
  'shaper-adaptive': { type: 'bool', default: true, help: 'adapt the in-flight budget to the latency measured at the backend (--no-shaper-adaptive: static budget)' },
  'shaper-target-ms': { type: 'number', default: null, min: 1, help: 'backend latency the adaptive budget aims at (default: --slo-ms / 2)' },
  'shaper-max-queue': { type: 'int', default: 1024, min: 1, help: 'requests that may wait for admission' },
  'max-queue-ms': { type: 'number', default: null, min: 1, help: 'longest a request waits for admission before 429 (default: --slo-ms / 2)' },
  'max-tokenize-bytes': { type: 'int', default: 32 * 1024 * 1024, min: 1024, help: 'text bytes one request may make the tokenizer read, worst case (single-item: query x items + items)' },
  'tokenizer-max-queue': { type: 'int', default: 256, min: 1, help: 'tokenizer tasks that may wait for a worker (beyond: 429)' },
  'headers-timeout-ms': { type: 'int', default: 10000, min: 100, help: 'time a client has to send a request head (beyond: 408)' },
  'score-front': { type: 'bool', default: true, help: "serve POST /v1/score with scorecar's own HTTP/1.1 code, in front of node:http (--no-score-front: node:http for every route)" },
  'request-timeout-ms': { type: 'int', default: 30000, min: 100, help: 'time a client has to send a whole request, head and body (beyond: 408)' },
  'drain-timeout-ms': { type: 'int', default: 10000, min: 0, help: 'on SIGTERM, how long requests in flight may take to finish before exit' },
  'grpc-max-streams': { type: 'int', default: 256, min: 1, help: 'concurrent gRPC ScoreStream calls (beyond: RESOURCE_EXHAUSTED)' },
  'grpc-stream-max-inflight': { type: 'int', default: 128, min: 1, help: 'requests one ScoreStream may have in flight (beyond: RESOURCE_EXHAUSTED for that request)' },
  'default-deadline-ms': { type: 'number', default: null, min: 1, help: 'deadline for requests that send none (default: none)' },
  'default-priority': { type: 'string', default: 'online', choices: ['online', 'nearline'], help: 'priority class of requests that send none' },
  'depth-min': { type: 'int', default: 50, min: 1, help: 'lowest ranking depth the controller sets' },
  'depth-max': { type: 'int', default: 1000, min: 1, help: 'highest ranking depth the controller sets' },
  'depth-start': { type: 'int', default: 250, min: 1, help: 'ranking depth at start' },
  'depth-target-ms': { type: 'number', default: 500, min: 1, help: 'target of the depth controller signal' },
  'rerank-template': { type: 'string', default: 'qwen3-reranker', choices: ['qwen3-reranker', 'qwen3-yes-no'], help: 'prompt template of /v1/rerank and /v2/rerank when a request names none' },
  'rerank-passthrough': { type: 'bool', default: false, help: "send /v1/rerank and /v2/rerank to SGLang unchanged (its own rerank route) instead of scoring them" },
  'max-rerank-chunks': { type: 'int', default: 40000, min: 1, help: 'document windows one rerank request may score in all (400 beyond)' },
  'depth-signal': { type: 'string', default: 'latency', choices: ['latency', 'queue-delay'], help: 'what the depth controller holds at target: /rank p95 latency or queue delay' },
  'log-level': { type: 'string', default: 'info', choices: LOG_LEVELS, help: 'JSON log lines on stdout at this level and above (debug adds a line per request)' },
  'otel-endpoint': { type: 'string', default: null, help: 'OTLP/HTTP collector (e.g. http://collector:4318) to export traces to; off by default (OTEL_EXPORTER_OTLP_ENDPOINT also turns it on)' },
  'otel-service-name': { type: 'string', default: 'scorecar', help: 'service.name of exported traces' },
  'otel-sample-ratio': { type: 'number', default: 1, min: 0, help: "share of new traces recorded, 0..1 (a client's sampled traceparent is always followed)" },
} as const satisfies OptionTable;

export interface ServeConfig {
  host: string;
  port: number;
  grpcPort: number;
  backend: string[];
  backendFile: string | null;
  backendDns: string[];
  discoveryIntervalMs: number;
  ejectConsecutiveFailures: number;
  ejectBaseMs: number;
  ejectMaxMs: number;
  retryBudgetRatio: number;
  retryMinPerS: number;
  maxAttempts: number;
  hedge: boolean;
  hedgeMinDelayMs: number;
  emulate: boolean;
  emulatorPort: number;
  emulatorProfile: string;
  emulatorMis: boolean;
  apiKey: string | null;
  adminApiKey: string | null;
  backendApiKey: string | null;
  backendAdminApiKey: string | null;
  passthroughConnections: number;
  passthroughMaxInflight: number;
  passthroughHeadersTimeoutMs: number;
  passthroughBodyTimeoutMs: number;
  cacheKeySecret: string | null;
  maxPackTokens: number | null;
  maxCallTokens: number;
  maxItems: number;
  maxBodyBytes: number;
  tokenizerThreads: number;
  tokenizerPath: string | null;
  prefixCacheMb: number;
  itemCacheMb: number;
  backendConnections: number;
  backendTimeoutMs: number;
  healthIntervalMs: number;
  identityIntervalMs: number;
  vocabSize: number | null;
  inputVocab: number | null;
  scoreCache: string;
  scoreCacheTtlS: number;
  scoreCacheMb: number;
  coalesceWindowMs: number;
  shaperBudgetTokens: number;
  shaperAdaptive: boolean;
  shaperTargetMs: number | null;
  shaperMaxQueue: number;
  sloMs: number;
  maxQueueMs: number | null;
  maxTokenizeBytes: number;
  tokenizerMaxQueue: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  drainTimeoutMs: number;
  grpcMaxStreams: number;
  grpcStreamMaxInflight: number;
  defaultDeadlineMs: number | null;
  defaultPriority: 'online' | 'nearline';
  depthMin: number;
  depthMax: number;
  depthStart: number;
  depthTargetMs: number;
  depthSignal: 'latency' | 'queue-delay';
  rerankTemplate: 'qwen3-reranker' | 'qwen3-yes-no';
  rerankPassthrough: boolean;
  scoreFront: boolean;
  maxRerankChunks: number;
  logLevel: LogLevel;
  otelEndpoint: string | null;
  otelServiceName: string;
  otelSampleRatio: number;
  help: boolean;
}

export function parseServeConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { values } = resolveOptions(SERVE_OPTIONS, argv, env);
  const c = values as unknown as ServeConfig;
  if (c.help) return c;
  const discovered = c.backendFile !== null || c.backendDns.length > 0;
  if (c.backend.length === 0 && !discovered && !c.emulate) {
    throw new ConfigError('serve needs --backend URL (or --backend-file FILE, --backend-dns HOST:PORT: SGLang servers) or --emulate (the built-in SGLang emulator)');
  }
  if (c.emulate && (c.backend.length > 0 || discovered)) {
    // Emulated scores must never share a pool, or cache entries, with a real model's.
    throw new ConfigError('--emulate cannot be combined with --backend: the emulator is a stand-in for SGLang, and its scores must not mix with a real backend\'s (run `scorecar emulate` and point a separate scorecar at it)');
  }
  if (c.cacheKeySecret !== null && c.cacheKeySecret.length < 16) {
    throw new ConfigError('--cache-key-secret: must be at least 16 characters (use a random string, e.g. `openssl rand -hex 32`)');
  }
  if (c.otelSampleRatio > 1) throw new ConfigError(`--otel-sample-ratio: must be between 0 and 1, got ${c.otelSampleRatio}`);
  if (c.otelEndpoint !== null) {
    let u: URL | null = null;
    try {
      u = new URL(c.otelEndpoint);
    } catch {
      // reported below
    }
    if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new ConfigError(`--otel-endpoint ${c.otelEndpoint}: must be an http(s) URL`);
  }
  for (const url of c.backend) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`--backend ${url}: not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`--backend ${url}: must be http(s)`);
  }
  for (const spec of c.backendDns) {
    try {
      parseDnsTarget(spec);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
  }
  if (c.retryBudgetRatio > 1) throw new ConfigError(`--retry-budget-ratio ${c.retryBudgetRatio}: must be in [0, 1]`);
  if (c.ejectMaxMs < c.ejectBaseMs) throw new ConfigError(`--eject-base-ms ${c.ejectBaseMs} <= --eject-max-ms ${c.ejectMaxMs} must hold`);
  if (!(c.depthMin <= c.depthStart && c.depthStart <= c.depthMax)) {
    throw new ConfigError(`--depth-min ${c.depthMin} <= --depth-start ${c.depthStart} <= --depth-max ${c.depthMax} must hold`);
  }
  const sc = c.scoreCache;
  if (sc !== 'memory' && sc !== 'off' && !isRedisSpec(sc)) {
    throw new ConfigError(`--score-cache ${sc}: expected memory, off, redis://HOST:PORT or valkey://HOST:PORT (rediss://, valkeys:// for TLS)`);
  }
  return c;
}
