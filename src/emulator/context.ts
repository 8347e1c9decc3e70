import { createHash } from 'node:crypto';
import { BoundaryRules } from '../tokenize/boundary.js';
import { JoinOracle } from '../tokenize/join-oracle.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import { loadTokenizerFiles } from '../tokenize/tokenizer-file.js';
import { frontEndCostUs } from './cost-model.js';
import { FaultInjector } from './faults.js';
import { HASH_INIT } from './model.js';
import { EmulatorMetrics } from './metrics.js';
import { type EmulatorOptions, maxReqInputLen } from './options.js';
import { PrefillScheduler, SerialResource } from './scheduler.js';
import { EmulatedTokenizer } from './tokenizer-service.js';

export interface RecordedResponse {
  method: string;
  path: string;
  status: number;
  bytes: number;
  sha256: string;
}

/** Everything the emulator's routes share. */
export class EmulatorContext {
  readonly scheduler: PrefillScheduler;
  readonly decodeResource = new SerialResource();
  /**
   * SGLang's front end (uvicorn, FastAPI and the TokenizerManager on one asyncio thread): a single
   * serial resource that every /v1/score request's own work and every text's tokenization occupy.
   */
  readonly frontEnd = new SerialResource();
  /** Modelled front-end time charged so far (without tokenization), in µs. */
  frontEndUs = 0;
  /** /v1/score requests being handled: the concurrency the front end's cost depends on. */
  scoresInFlight = 0;
  readonly tokenizer: EmulatedTokenizer;
  readonly faults: FaultInjector;
  readonly metrics: EmulatorMetrics;
  readonly maxReqInputLen: number;
  /**
   * Seed of the modelled weights' prompt hash: HASH_INIT for weight version 'default', so scores
   * are as they always were; another version (a new rollout) scores differently.
   */
  readonly hashInit: number;
  readonly startedAt = Date.now();
  /** Last responses by hash, so tests can prove a proxy relayed bytes unchanged. */
  readonly recent: RecordedResponse[] = [];
  abortedStreams = 0;
  activeStreams = 0;
  /** Set false through /emulator/health to make /health answer 503. */
  healthy = true;
  droppedConnections = 0;
  requestsByPath = new Map<string, number>();

  constructor(
    readonly options: EmulatorOptions,
    pool: TokenizerPool,
  ) {
    // MIS servers run with chunked prefill off (SGLang forces it): a pack is one prefill.
    const cost = options.mis.kind === 'off' ? options.cost : { ...options.cost, chunkedPrefillSize: -1 };
    this.scheduler = new PrefillScheduler(cost);
    const rules = BoundaryRules.fromTokenizerJson(loadTokenizerFiles().tokenizerJson);
    this.tokenizer = new EmulatedTokenizer(pool, options.cost, new JoinOracle(rules), this.frontEnd);
    this.faults = new FaultInjector();
    this.faults.update(options.faults);
    this.metrics = new EmulatorMetrics(options.servedModelName, this.scheduler);
    this.maxReqInputLen = maxReqInputLen(options);
    this.hashInit = options.weightVersion === 'default' ? HASH_INIT : (HASH_INIT ^ createHash('sha256').update(options.weightVersion).digest().readInt32LE(0)) | 0;
  }

  /** Occupies the front end for one request handing `sequences` sequences of `tokens` in all to the scheduler. */
  chargeFrontEnd(sequences: number, tokens: number): Promise<void> {
    const us = frontEndCostUs(this.options.cost, sequences, tokens, this.scoresInFlight);
    this.frontEndUs += us;
    return this.frontEnd.use(us);
  }

  record(method: string, path: string, status: number, body: Buffer): void {
    this.recordDigest(method, path, status, body.length, createHash('sha256').update(body).digest('hex'));
  }

  /** A response sent in pieces (a stream), by its length and the SHA-256 of all its bytes. */
  recordDigest(method: string, path: string, status: number, bytes: number, sha256: string): void {
    this.recent.push({ method, path, status, bytes, sha256 });
    if (this.recent.length > 64) this.recent.shift();
  }

  count(path: string): void {
    this.requestsByPath.set(path, (this.requestsByPath.get(path) ?? 0) + 1);
  }
}
