import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GrpcApi } from './api/grpc/server.js';
import { Auth } from './api/http/auth.js';
import { RankRoute } from './api/http/rank-route.js';
import { ScoreRoute } from './api/http/score-route.js';
import { type HttpApi, createHttpApi } from './api/http/server.js';
import { BackendSet } from './backend/backend-set.js';
import { groupKey, routable } from './backend/backend-group.js';
import { BackendDiscovery, type Resolver, parseDnsTarget } from './backend/discovery.js';
import type { FleetPolicy } from './backend/fleet-call.js';
import { RetryBudget } from './backend/retry-budget.js';
import { RerankRoute } from './api/http/rerank-route.js';
import { RerankService } from './pipeline/rerank-service.js';
import { type PromptTemplate, templateByName } from './tokenize/prompt-template.js';
import { DEFAULT_SCORE_ENDPOINT_CONTEXT } from './sglang/validation-error.js';
import { type Logger, silentLogger } from './observe/logger.js';
import type { Observe } from './observe/observe.js';
import { requestIds } from './observe/request-id.js';
import { type Tracing, createTracing, tracingEndpoint, tracingServiceName } from './observe/tracing.js';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SglangBackend } from './backend/sglang-backend.js';
import { createScoreCache } from './cache/create-score-cache.js';
import type { ScoreCache } from './cache/score-cache.js';
import type { ServeConfig } from './config/serve-config.js';
import { AimdBudget } from './control/budget.js';
import { DepthController } from './control/depth-controller.js';
import { TrafficShaper } from './control/traffic-shaper.js';
import { KeyedHash, cacheKeySecret } from './mem/keyed-hash.js';
import { ScorecarMetrics } from './metrics/registry.js';
import { RankService } from './pipeline/rank-service.js';
import { ScorePipeline } from './pipeline/score-pipeline.js';
import { BoundaryRules } from './tokenize/boundary.js';
import { JoinOracle } from './tokenize/join-oracle.js';
import { TokenizerPool } from './tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER } from './tokenize/protocol.js';
import { TokenCache } from './tokenize/token-cache.js';
import { defaultTokenizerPath, loadTokenizerFiles } from './tokenize/tokenizer-file.js';
import { collectStartupGarbage } from './mem/startup-gc.js';

export interface RunningSidecar {
  url: string;
  port: number;
  server: Server;
  /** The gRPC Scorer API and its host:port. */
  grpc: GrpcApi;
  grpcAddress: string;
  backends: BackendSet;
  /** Backend discovery (--backend-file, --backend-dns); null with static backends only. */
  discovery: BackendDiscovery | null;
  metrics: ScorecarMetrics;
  pipeline: ScorePipeline;
  pool: TokenizerPool;
  caches: { prefix: TokenCache; item: TokenCache; rankPrefix: TokenCache; rankItem: TokenCache };
  scoreCache: ScoreCache;
  shaper: TrafficShaper;
  depth: DepthController;
  rank: RankService;
  http: HttpApi;
  /** Logger, request ids and tracing (null: off) the APIs and pipeline share. */
  observe: Observe;
  /**
   * Graceful shutdown's first half: /health and gRPC health report not serving, new requests are
   * refused (HTTP 503, gRPC UNAVAILABLE), and requests in flight run to their answers. Resolves
   * true once none is left, false when timeoutMs passes first. close() ends the rest.
   */
  drain(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

/**
 * What the main thread needs from tokenizer.json. The parsed file (about 300k vocabulary and
 * merge entries) is dropped on return: held for the process's life it made every full GC trace
 * it, a ~20 ms pause on the event loop. Only the tokenizer workers keep a tokenizer.
 */
function tokenizerFacts(path: string): { sha256: string; rules: BoundaryRules; baseVocab: number; fullLength: number } {
  const files = loadTokenizerFiles(path);
  const vocab = (files.tokenizerJson.model as { vocab?: object } | undefined)?.vocab ?? {};
  const baseVocab = Object.keys(vocab).length;
  // len(tokenizer): the base vocabulary plus added tokens (<|im_start|> is 151644 in Qwen3).
  let fullLength = baseVocab;
  const added = files.tokenizerJson.added_tokens;
  if (Array.isArray(added)) {
    for (const t of added as Array<{ id?: unknown }>) if (typeof t.id === 'number' && t.id + 1 > fullLength) fullLength = t.id + 1;
  }
  return { sha256: files.sha256, rules: BoundaryRules.fromTokenizerJson(files.tokenizerJson), baseVocab, fullLength };
}

/** scorecar could not start (a port in use, a tokenizer that does not load): one line for the operator. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface SidecarObserveOptions {
  /** Where log lines go (default: none). */
  log?: Logger;
  /** Tests and embedders: export spans here (tracing on whatever cfg says) instead of OTLP/HTTP. */
  spanExporter?: SpanExporter;
  /** DNS resolution for --backend-dns (default: the system's A and AAAA lookups). */
  resolver?: Resolver;
  /**
   * A full collection of the start-up garbage just before the listeners open (src/mem/startup-gc.ts):
   * `scorecar serve` asks for it; tests and embedders that start many sidecars in one process need not.
   */
  collectStartupGarbage?: boolean;
}

/**
 * Wires scorecar together: tokenizer workers and caches, backends, pipeline, HTTP front. When
 * any step fails, whatever was started before it (workers, timers, Redis, backend health
 * checks, listeners) is closed before the error is thrown, so a failed start leaves nothing
 * running.
 */
export async function startSidecar(cfg: ServeConfig, observeOptions: SidecarObserveOptions = {}): Promise<RunningSidecar> {
  const cleanups: Array<() => unknown> = [];
  const logger = observeOptions.log ?? silentLogger();
  const tracing: Tracing | null = await createTracing({
    endpoint: tracingEndpoint(cfg.otelEndpoint ?? null),
    serviceName: tracingServiceName(cfg.otelServiceName),
    sampleRatio: cfg.otelSampleRatio ?? 1,
    exporter: observeOptions.spanExporter,
    onExportError: (message) => logger.warn(message),
  });
  if (tracing !== null) cleanups.push(() => tracing.shutdown());
  const observe: Observe = { log: logger, ids: requestIds, tracing, access: logger.isLevelEnabled('debug') };
  try {
    return await wire(cfg, observe, cleanups, observeOptions);
  } catch (e) {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // Closing what a failed start opened: the original error is the one to report.
      }
    }
    throw e;
  }
}

function listenError(what: string, flag: string, port: number, host: string, e: unknown): StartupError {
  const code = (e as { code?: string })?.code ?? (/EADDRINUSE/.test(String((e as Error)?.message)) ? 'EADDRINUSE' : undefined);
  const why = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'is not allowed' : `cannot be bound (${(e as Error)?.message ?? String(e)})`;
  return new StartupError(`${what} port ${port} on ${host} ${why} (scorecar ${flag}; 0 picks a free port)`);
}

async function wire(cfg: ServeConfig, observe: Observe, cleanups: Array<() => unknown>, options: SidecarObserveOptions): Promise<RunningSidecar> {
  const logger = observe.log;
  // The modules that report in plain sentences (caches, backend events) get a sentence logger.
  const log = (msg: string): void => logger.info(msg);
  if (observe.tracing !== null) logger.info({ endpoint: tracingEndpoint(cfg.otelEndpoint ?? null) }, 'tracing on: spans exported over OTLP/HTTP');
  const tokenizerPath = cfg.tokenizerPath ?? defaultTokenizerPath();
  const tokenizer = tokenizerFacts(tokenizerPath);
  const rules = tokenizer.rules;
  const vocabSize = cfg.vocabSize ?? tokenizer.baseVocab;
  if (!rules.supported) log('tokenizer pipeline not analysable: item token cache only used where texts are tokenized alone (MIS)');

  const pool = new TokenizerPool({ threads: cfg.tokenizerThreads, tokenizerPath, maxQueue: cfg.tokenizerMaxQueue });
  cleanups.push(() => pool.close());
  await pool.ready();
  const prefixCache = new TokenCache(cfg.prefixCacheMb * MiB);
  const itemCache = new TokenCache(cfg.itemCacheMb * MiB);
  // /rank keeps its own caches (its ids depend on the template, not on SGLang's score semantics),
  // items keyed by template + item id + content hash: a posting is tokenized once while hot.
  const rankPrefixCache = new TokenCache(Math.max(1, cfg.prefixCacheMb / 4) * MiB);
  const rankItemCache = new TokenCache(cfg.itemCacheMb * MiB);
  const tokenCaches: ReadonlyArray<readonly [string, TokenCache]> = [
    ['prefix', prefixCache],
    ['item', itemCache],
    ['rank-prefix', rankPrefixCache],
    ['rank-item', rankItemCache],
  ];
  const oracle = new JoinOracle(rules);
  const hasher = await KeyedHash.create(cacheKeySecret(cfg.cacheKeySecret, log));
  const scoreCache = createScoreCache(cfg.scoreCache, { ttlSeconds: cfg.scoreCacheTtlS, maxBytes: cfg.scoreCacheMb * MiB, log, hasher });
  cleanups.push(() => scoreCache.close());
  const shaper = new TrafficShaper({
    // Goodput under overload (README "Limits"): of the latency objective, half may be spent
    // waiting for admission and half at the backend, whose in-flight budget adapts to keep its
    // latency there. What cannot start within the wait bound is refused 429 at once.
    budget: cfg.shaperAdaptive
      ? new AimdBudget({
          initialTokens: cfg.shaperBudgetTokens,
          // A budget set below the usual floor stays the floor: it was asked for.
          minTokens: Math.min(4096, cfg.shaperBudgetTokens),
          maxTokens: Math.max(cfg.shaperBudgetTokens * 4, 262144),
          targetLatencyMs: cfg.shaperTargetMs ?? cfg.sloMs / 2,
        })
      : cfg.shaperBudgetTokens,
    maxQueuedRequests: cfg.shaperMaxQueue,
    maxQueueMs: cfg.maxQueueMs ?? cfg.sloMs / 2,
  });
  const depth = new DepthController({
    signal: cfg.depthSignal,
    targetMs: cfg.depthTargetMs,
    minDepth: cfg.depthMin,
    maxDepth: cfg.depthMax,
    initialDepth: cfg.depthStart,
  });
  const depthTimer = setInterval(() => depth.tick(performance.now()), 1000);
  depthTimer.unref();
  cleanups.push(() => clearInterval(depthTimer));

  const localTokenize = async (text: string): Promise<Int32Array> => {
    const r = await pool.encode({ type: 'encode', texts: [text], ops: Int32Array.of(OP_ALONE, 0, 0), wantEdges: false });
    const off = r.packed[RESULT_HEADER] as number;
    return r.packed.slice(off, off + (r.packed[RESULT_HEADER + 1] as number));
  };
  // The gRPC health service follows backend health; it exists once the pipeline does.
  let grpcApi: GrpcApi | null = null;
  const makeBackend = (url: string): SglangBackend =>
    new SglangBackend({
      url,
      apiKey: cfg.backendApiKey,
      adminApiKey: cfg.backendAdminApiKey,
      connections: cfg.backendConnections,
      passthrough: {
        connections: cfg.passthroughConnections,
        headersTimeoutMs: cfg.passthroughHeadersTimeoutMs,
        bodyTimeoutMs: cfg.passthroughBodyTimeoutMs,
      },
      callTimeoutMs: cfg.backendTimeoutMs,
      healthTimeoutMs: Math.max(1000, cfg.healthIntervalMs * 2),
      outlier: { consecutiveFailures: cfg.ejectConsecutiveFailures, baseEjectionMs: cfg.ejectBaseMs, maxEjectionMs: cfg.ejectMaxMs },
    });
  const backends = new BackendSet(
    cfg.backend.map(makeBackend),
    cfg.healthIntervalMs,
    localTokenize,
    {
      log,
      onChange: (b) => {
        if (b.healthy) logger.info({ backend: b.url }, `backend ${b.url} is healthy`);
        else logger.warn({ backend: b.url, err: b.lastError || 'health check failed' }, `backend ${b.url} is unhealthy (${b.lastError || 'health check failed'})`);
        grpcApi?.refreshHealth();
      },
      onIdentityChange: (_b, before, after) => {
        // Score-cache keys carry the identity, so old entries are never served; the in-process
        // cache drops them now rather than letting them age out. A shared Redis cache keeps them
        // for replicas still on the old identity (mid-rollout) until their TTL.
        if (scoreCache.kind === 'memory') void scoreCache.clear();
        // Another model may tokenize differently: its token ids are not ours.
        if (before.modelPath !== after.modelPath) for (const [, c] of tokenCaches) c.clear();
      },
    },
    cfg.identityIntervalMs,
    cfg.backendTimeoutMs,
  );
  backends.setFactory(makeBackend);
  const fleet: FleetPolicy = {
    retryBudget: new RetryBudget({ ratio: cfg.retryBudgetRatio, minPerSecond: cfg.retryMinPerS }),
    maxAttempts: cfg.maxAttempts,
    hedge: cfg.hedge,
    hedgeMinDelayMs: cfg.hedgeMinDelayMs,
  };
  const discovery =
    cfg.backendFile !== null || cfg.backendDns.length > 0
      ? new BackendDiscovery({
          static: cfg.backend,
          file: cfg.backendFile,
          dns: cfg.backendDns.map(parseDnsTarget),
          intervalMs: cfg.discoveryIntervalMs,
          resolver: options.resolver,
          log,
          onChange: async (urls) => {
            const { added, removed } = await backends.reconcile(urls);
            if (added.length + removed.length > 0) log(`backends: ${urls.length} (added ${added.join(', ') || 'none'}; draining ${removed.join(', ') || 'none'})`);
            grpcApi?.refreshHealth();
          },
        })
      : null;
  cleanups.push(() => discovery?.stop());
  // The shaper's budget is per backend: it follows the backends that can take calls now
  // (healthy, not draining, not ejected), checked often enough to follow an ejection.
  const followFleet = (): void => {
    const now = performance.now();
    let n = 0;
    for (const b of backends.backends) if (routable(b) && b.outlier.available(now)) n++;
    shaper.setBackends(n);
  };
  const fleetTimer = setInterval(followFleet, 250);
  fleetTimer.unref();
  cleanups.push(() => clearInterval(fleetTimer));

  const metrics = new ScorecarMetrics({
    tokenCaches: () => tokenCaches.map(([name, c]) => ({ name, hits: c.hits, misses: c.misses, bytes: c.bytes, entries: c.size })),
    tokenizerQueue: () => pool.queueSize,
    backends: () =>
      backends.backends.map((b) => ({
        url: b.url,
        healthy: b.healthy,
        inflight: b.inflight,
        tokenizerMatch: b.tokenizer === 'match',
        ejected: b.outlier.state === 'open',
        breaker: b.outlier.state,
        outstandingTokens: b.outstandingTokens,
        stats: b.stats,
      })),
    retryBudget: () => ({ allowed: fleet.retryBudget.withdrawals, refused: fleet.retryBudget.refusals }),
    scoreCache: () => scoreCache.stats(),
    shaper: () => shaper.stats(),
    depth: () => ({ depth: depth.depth, measuredMs: depth.measuredMs, error: depth.error, p: depth.pTerm, i: depth.iTerm, d: depth.dTerm }),
    coalesced: () => pipeline.coalescer.merged,
  });
  cleanups.push(() => metrics.stop());
  const pipeline: ScorePipeline = new ScorePipeline(
    {
      tokenize: { pool, prefixCache, itemCache, oracle },
      rankTokenize: { pool, prefixCache: rankPrefixCache, itemCache: rankItemCache },
      backends,
      metrics,
      cache: scoreCache,
      shaper,
      hasher,
      observe,
      fleet,
    },
    {
      maxPackTokens: cfg.maxPackTokens,
      maxCallTokens: cfg.maxCallTokens,
      coalesceWindowMs: cfg.coalesceWindowMs,
      inputVocab: cfg.inputVocab ?? cfg.vocabSize ?? tokenizer.fullLength,
      maxTokenizeBytes: cfg.maxTokenizeBytes,
    },
  );
  const urgency = { deadlineMs: cfg.defaultDeadlineMs, priority: cfg.defaultPriority };
  const score = new ScoreRoute(pipeline, metrics, {
    maxItems: cfg.maxItems,
    vocabSize,
    endpointContext: () => backends.pick()?.info?.scoreEndpointContext ?? DEFAULT_SCORE_ENDPOINT_CONTEXT,
    ...urgency,
    log: logger,
  });
  const rank = new RankService(pipeline, () => Math.round(depth.depth));
  const rankRoute = new RankRoute(rank, metrics, depth, { maxItems: cfg.maxItems, depthSignal: cfg.depthSignal, ...urgency, log: logger });
  const rerank = new RerankService({
    pool,
    docCache: rankItemCache,
    hasher: pipeline.hasher,
    rank,
    maxReqInputLen: () => backends.pick()?.info?.maxReqInputLen ?? null,
    maxChunksPerRequest: cfg.maxRerankChunks,
  });
  const rerankOptions = { maxDocuments: cfg.maxItems, defaultTemplate: templateByName(cfg.rerankTemplate) as PromptTemplate, ...urgency, log: logger };
  const rerankRoutes = cfg.rerankPassthrough
    ? null
    : { v1: new RerankRoute(rerank, metrics, 1, rerankOptions), v2: new RerankRoute(rerank, metrics, 2, rerankOptions) };
  const grpc = new GrpcApi(
    { pipeline, rank, depth, metrics, observe },
    {
      maxItems: cfg.maxItems,
      vocabSize,
      maxMessageBytes: cfg.maxBodyBytes,
      apiKey: cfg.apiKey,
      depthSignal: cfg.depthSignal,
      serving: () => backends.pick() !== null,
      maxStreams: cfg.grpcMaxStreams,
      maxStreamInFlight: cfg.grpcStreamMaxInflight,
      ...urgency,
    },
  );
  grpcApi = grpc;
  const http = createHttpApi({
    auth: new Auth(cfg.apiKey, cfg.adminApiKey),
    score,
    rank: rankRoute,
    rerank: rerankRoutes,
    backends,
    metrics,
    maxBodyBytes: cfg.maxBodyBytes,
    passthroughLimits: { maxInflight: cfg.passthroughMaxInflight },
    headersTimeoutMs: cfg.headersTimeoutMs,
    requestTimeoutMs: cfg.requestTimeoutMs,
    observe,
    scoreFront: cfg.scoreFront,
    admin: {
      stats: () => ({
        backends: backends.backends.map((b) => ({
          url: b.url,
          healthy: b.healthy,
          inflight: b.inflight,
          outstanding_tokens: b.outstandingTokens,
          breaker: b.outlier.state,
          consecutive_failures: b.outlier.consecutive,
          ejections: b.outlier.ejections,
          draining: b.draining,
          group: b.info === null ? null : groupKey(b.info),
          errors: b.stats.errors,
          retries: b.stats.retries,
          hedges: { won: b.stats.hedgesWon, lost: b.stats.hedgesLost },
          tokenizer: b.tokenizer,
          info: b.info,
          last_error: b.lastError || null,
        })),
        token_caches: Object.fromEntries(tokenCaches.map(([name, c]) => [name, { entries: c.size, bytes: c.bytes, hits: c.hits, misses: c.misses }])),
        tokenizer: { threads: pool.threads, queue: pool.queueSize, sha256: tokenizer.sha256, join_rules: rules.supported },
        score_cache: { kind: scoreCache.kind, ...scoreCache.stats() },
        shaper: shaper.stats(),
        depth: { depth: depth.depth, measured_ms: depth.measuredMs, error: depth.error, p: depth.pTerm, i: depth.iTerm, d: depth.dTerm },
        coalesced_requests: pipeline.coalescer.merged,
        heap: metrics.heapStats(),
      }),
      config: () => ({ ...cfg, apiKey: cfg.apiKey ? '***' : null, adminApiKey: cfg.adminApiKey ? '***' : null, backendApiKey: cfg.backendApiKey ? '***' : null, backendAdminApiKey: cfg.backendAdminApiKey ? '***' : null, cacheKeySecret: cfg.cacheKeySecret ? '***' : null }),
      flushCaches: () => {
        for (const [, c] of tokenCaches) c.clear();
        void scoreCache.clear();
        return { flushed: [...tokenCaches.map(([name]) => name), 'score'] };
      },
    },
  });

  const server = http.server;
  cleanups.push(() => shaper.close());
  cleanups.push(() => backends.stop());
  await discovery?.start();
  await backends.start();
  followFleet();
  // Now, before anyone can connect: the pause lands on no request, not even a readiness probe.
  if (options.collectStartupGarbage === true) collectStartupGarbage();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError('HTTP', '--port', cfg.port, cfg.host, e)));
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  let grpcPort: number;
  try {
    grpcPort = await grpc.listen(cfg.host, cfg.grpcPort);
  } catch (e) {
    grpc.server.forceShutdown();
    throw listenError('gRPC', '--grpc-port', cfg.grpcPort, cfg.host, e);
  }
  const grpcAddress = host.includes(':') ? `[${host}]:${grpcPort}` : `${host}:${grpcPort}`;
  logger.info({ address: grpcAddress }, `gRPC Scorer API on ${grpcAddress} (scorecar.v1.Scorer, grpc.health.v1.Health, reflection)`);
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    grpc,
    grpcAddress,
    backends,
    discovery,
    metrics,
    pipeline,
    pool,
    caches: { prefix: prefixCache, item: itemCache, rankPrefix: rankPrefixCache, rankItem: rankItemCache },
    scoreCache,
    shaper,
    depth,
    rank,
    http,
    observe,
    async drain(timeoutMs: number) {
      // New work is refused from here on; what is in flight (queued in the shaper included) finishes.
      http.startDraining();
      const grpcDone = grpc.drain(timeoutMs);
      const [httpIdle, grpcIdle] = await Promise.all([http.idle(timeoutMs), grpcDone]);
      return httpIdle && grpcIdle;
    },
    async close() {
      clearInterval(depthTimer);
      clearInterval(fleetTimer);
      discovery?.stop();
      await grpc.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      shaper.close();
      await scoreCache.close();
      await backends.stop();
      metrics.stop();
      await pool.close();
      // Spans of the last requests go out before the process ends.
      await observe.tracing?.shutdown();
    },
  };
}
