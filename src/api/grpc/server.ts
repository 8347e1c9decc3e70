import { Server, ServerCredentials, type UntypedServiceImplementation, logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { DepthController } from '../../control/depth-controller.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import type { Observe } from '../../observe/observe.js';
import type { RankService } from '../../pipeline/rank-service.js';
import type { ScorePipeline } from '../../pipeline/score-pipeline.js';
import type { RequestDefaults } from '../request-options.js';
import { GrpcAuth } from './auth.js';
import { SERVICE_NAME } from './messages.js';
import { RankCall } from './rank-call.js';
import { addReflection } from './reflection.js';
import { ScoreCall } from './score-call.js';
import { ScoreCore } from './score-core.js';
import { scorerServerDefinition } from './service.js';
import { StreamCall } from './stream-call.js';

export interface GrpcApiOptions extends RequestDefaults {
  maxItems: number;
  vocabSize: number;
  /** Largest request message accepted (scorecar's --max-body-bytes; grpc-js's default is 4 MiB). */
  maxMessageBytes: number;
  apiKey: string | null;
  depthSignal: 'latency' | 'queue-delay';
  /** Whether some backend can score now: drives grpc.health.v1. */
  serving(): boolean;
  /** Concurrent ScoreStream calls, and requests in flight on one (beyond: RESOURCE_EXHAUSTED). */
  maxStreams: number;
  maxStreamInFlight: number;
}

export interface GrpcApiDeps {
  pipeline: ScorePipeline;
  rank: RankService;
  depth: DepthController;
  metrics: ScorecarMetrics;
  /** Request ids, logs, tracing (default: ids made, nothing logged or traced). */
  observe?: Observe;
}

/** How long close() lets calls in progress finish before cutting them off. */
const SHUTDOWN_GRACE_MS = 1000;

/**
 * scorecar's gRPC front: scorecar.v1.Scorer over the same pipeline as the HTTP API, the standard
 * grpc.health.v1.Health (SERVING while a backend is healthy) and server reflection.
 */
export class GrpcApi {
  readonly server: Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [SERVICE_NAME]: 'NOT_SERVING' });
  private serving: boolean | null = null;
  /** Set once the server is shutting down: settles when the calls in flight have ended. */
  private shutdown: Promise<void> | null = null;

  constructor(
    deps: GrpcApiDeps,
    private readonly opts: GrpcApiOptions,
  ) {
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': -1,
      // HTTP/2 streams (calls) one connection may have open at once.
      'grpc.max_concurrent_streams': Math.max(100, opts.maxStreams),
    });
    const auth = new GrpcAuth(opts.apiKey);
    const defaults: RequestDefaults = { deadlineMs: opts.deadlineMs, priority: opts.priority };
    const core = new ScoreCore(deps.pipeline, { ...defaults, maxItems: opts.maxItems, vocabSize: opts.vocabSize });
    const impl: UntypedServiceImplementation = {
      Score: new ScoreCall(core, deps.metrics, auth, deps.observe).handle,
      Rank: new RankCall(deps.rank, deps.metrics, deps.depth, auth, { ...defaults, maxItems: opts.maxItems, depthSignal: opts.depthSignal }, deps.observe).handle,
      ScoreStream: new StreamCall(core, deps.metrics, auth, { maxStreams: opts.maxStreams, maxInFlight: opts.maxStreamInFlight }, deps.observe).handle,
    };
    this.server.addService(scorerServerDefinition, impl);
    this.health.addToServer(this.server);
    addReflection(this.server);
  }

  /** Re-reads backend health into grpc.health.v1 (watchers hear about changes only). */
  refreshHealth(): void {
    const now = this.opts.serving();
    if (now === this.serving) return;
    this.serving = now;
    const status = now ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    this.health.setStatus(SERVICE_NAME, status);
  }

  /** Binds host:port (0 = any free port) and returns the port bound. */
  listen(host: string, port: number): Promise<number> {
    this.refreshHealth();
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    // grpc-js would also log a failed bind on its own; the caller reports it, in one line.
    setLogVerbosity(logVerbosity.NONE);
    return new Promise<number>((resolve, reject) => {
      this.server.bindAsync(addr, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    }).finally(() => setLogVerbosity(logVerbosity.ERROR));
  }

  /** Reports NOT_SERVING and stops taking calls; resolves once the calls in flight have ended. */
  private beginShutdown(): Promise<void> {
    if (this.shutdown === null) {
      this.serving = false;
      this.health.setStatus('', 'NOT_SERVING');
      this.health.setStatus(SERVICE_NAME, 'NOT_SERVING');
      this.shutdown = new Promise((resolve) => this.server.tryShutdown(() => resolve()));
    }
    return this.shutdown;
  }

  /** Graceful: no new calls; true once those in flight have ended, false if timeoutMs passes first. */
  drain(timeoutMs: number): Promise<boolean> {
    const done = this.beginShutdown().then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([done, late]).finally(() => clearTimeout(timer));
  }

  /** Reports NOT_SERVING, lets calls in progress finish for a moment, then cuts the rest off. */
  async close(): Promise<void> {
    if (!(await this.drain(SHUTDOWN_GRACE_MS))) this.server.forceShutdown();
  }
}
