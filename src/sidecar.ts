import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Auth } from './api/http/auth.js';
import { ScoreRoute } from './api/http/score-route.js';
import { createHttpApi } from './api/http/server.js';
import { BackendSet } from './backend/backend-set.js';
import { SglangBackend } from './backend/sglang-backend.js';
import type { ServeConfig } from './config/serve-config.js';
import { ScorecarMetrics } from './metrics/registry.js';
import { ScorePipeline } from './pipeline/score-pipeline.js';
import { BoundaryRules } from './tokenize/boundary.js';
import { JoinOracle } from './tokenize/join-oracle.js';
import { TokenizerPool } from './tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER } from './tokenize/protocol.js';
import { TokenCache } from './tokenize/token-cache.js';
import { defaultTokenizerPath, loadTokenizerFiles } from './tokenize/tokenizer-file.js';

export interface RunningSidecar {
  url: string;
  port: number;
  server: Server;
  backends: BackendSet;
  metrics: ScorecarMetrics;
  pipeline: ScorePipeline;
  pool: TokenizerPool;
  caches: { prefix: TokenCache; item: TokenCache };
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Wires scorecar together: tokenizer workers and caches, backends, pipeline, HTTP front. */
export async function startSidecar(cfg: ServeConfig, log: (msg: string) => void = () => {}): Promise<RunningSidecar> {
  const tokenizerPath = cfg.tokenizerPath ?? defaultTokenizerPath();
  const files = loadTokenizerFiles(tokenizerPath);
  const rules = BoundaryRules.fromTokenizerJson(files.tokenizerJson);
  const baseVocab = Object.keys((files.tokenizerJson.model as { vocab?: object } | undefined)?.vocab ?? {}).length;
  const vocabSize = cfg.vocabSize ?? baseVocab;
  if (!rules.supported) log('tokenizer pipeline not analysable: item token cache only used where texts are tokenized alone (MIS)');

  const pool = new TokenizerPool({ threads: cfg.tokenizerThreads, tokenizerPath });
  await pool.ready();
  const prefixCache = new TokenCache(cfg.prefixCacheMb * MiB);
  const itemCache = new TokenCache(cfg.itemCacheMb * MiB);
  const oracle = new JoinOracle(rules);

  const localTokenize = async (text: string): Promise<Int32Array> => {
    const r = await pool.encode({ type: 'encode', texts: [text], ops: Int32Array.of(OP_ALONE, 0, 0), wantEdges: false });
    const off = r.packed[RESULT_HEADER] as number;
    return r.packed.slice(off, off + (r.packed[RESULT_HEADER + 1] as number));
  };
  const backends = new BackendSet(
    cfg.backend.map(
      (url) =>
        new SglangBackend({
          url,
          apiKey: cfg.backendApiKey,
          connections: cfg.backendConnections,
          callTimeoutMs: cfg.backendTimeoutMs,
          healthTimeoutMs: Math.max(1000, cfg.healthIntervalMs * 2),
        }),
    ),
    cfg.healthIntervalMs,
    localTokenize,
    {
      log,
      onChange: (b) => log(`backend ${b.url} is ${b.healthy ? 'healthy' : `unhealthy (${b.lastError || 'health check failed'})`}`),
    },
  );

  const metrics = new ScorecarMetrics({
    tokenCaches: () => [
      { name: 'prefix', hits: prefixCache.hits, misses: prefixCache.misses, bytes: prefixCache.bytes, entries: prefixCache.size },
      { name: 'item', hits: itemCache.hits, misses: itemCache.misses, bytes: itemCache.bytes, entries: itemCache.size },
    ],
    tokenizerQueue: () => pool.queueSize,
    backends: () => backends.backends.map((b) => ({ url: b.url, healthy: b.healthy, inflight: b.inflight, tokenizerMatch: b.tokenizer === 'match' })),
  });
  const pipeline = new ScorePipeline({ pool, prefixCache, itemCache, oracle }, backends, metrics, {
    maxPackTokens: cfg.maxPackTokens,
    maxCallTokens: cfg.maxCallTokens,
  });
  const score = new ScoreRoute(pipeline, metrics, { maxItems: cfg.maxItems, vocabSize });
  const server = createHttpApi({
    auth: new Auth(cfg.apiKey, cfg.adminApiKey),
    score,
    backends,
    metrics,
    maxBodyBytes: cfg.maxBodyBytes,
    log,
    admin: {
      stats: () => ({
        backends: backends.backends.map((b) => ({
          url: b.url,
          healthy: b.healthy,
          inflight: b.inflight,
          tokenizer: b.tokenizer,
          info: b.info,
          last_error: b.lastError || null,
        })),
        token_caches: {
          prefix: { entries: prefixCache.size, bytes: prefixCache.bytes, hits: prefixCache.hits, misses: prefixCache.misses },
          item: { entries: itemCache.size, bytes: itemCache.bytes, hits: itemCache.hits, misses: itemCache.misses },
        },
        tokenizer: { threads: pool.threads, queue: pool.queueSize, sha256: files.sha256, join_rules: rules.supported },
        heap: metrics.heapStats(),
      }),
      config: () => ({ ...cfg, apiKey: cfg.apiKey ? '***' : null, adminApiKey: cfg.adminApiKey ? '***' : null, backendApiKey: cfg.backendApiKey ? '***' : null }),
      flushCaches: () => {
        prefixCache.clear();
        itemCache.clear();
        return { flushed: ['prefix', 'item'] };
      },
    },
  });

  await backends.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    backends,
    metrics,
    pipeline,
    pool,
    caches: { prefix: prefixCache, item: itemCache },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await backends.stop();
      metrics.stop();
      await pool.close();
    },
  };
}
