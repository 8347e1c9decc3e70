import { status as Status } from '@grpc/grpc-js';
import { Priority, type ScoreRequestInit, type ScoreStream, ScorerClient, ScorerError, type ScoreResult } from '../../../src/client/index.js';
import { type BenchRequest, type PromptPart, STATUS_BAD_BODY, type ScoreTarget, type SendResult } from '../target.js';

export interface GrpcScoreTargetOptions {
  name: string;
  /** grpc://host:port (unary Score) or grpc://host:port?mode=stream (ScoreStream). */
  url: string;
  labelTokenIds: readonly number[];
  /** HTTP connections the other targets get; gRPC multiplexes, so one channel per 64 of them. */
  connections: number;
  apiKey: string | null;
}

/** Requests one HTTP/2 channel carries before the target opens another. */
const CALLS_PER_CHANNEL = 64;
const MAX_CHANNELS = 8;

/** gRPC statuses as the HTTP codes the bench reports count by. */
function httpLike(code: number): number {
  switch (code) {
    case Status.INVALID_ARGUMENT:
      return 400;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.UNAVAILABLE:
      return 503;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

/**
 * scorecar.v1.Scorer/Score through the package's TypeScript client (src/client), with token ids:
 * the query as TokenIds (memoised per prompt part) and the items as one PackedTokenIds, the form
 * a pre-tokenizing client sends. `?mode=stream` sends the same requests over ScoreStream instead.
 */
export class GrpcScoreTarget implements ScoreTarget {
  readonly name: string;
  readonly kind = 'grpc';
  readonly url: string;
  private readonly clients: ScorerClient[] = [];
  private readonly streams: ScoreStream[] = [];
  private readonly labels: number[];
  private readonly queries = new WeakMap<PromptPart, { ids: number[] }>();
  private next = 0;

  constructor(o: GrpcScoreTargetOptions) {
    const u = new URL(o.url);
    if (u.protocol !== 'grpc:') throw new Error(`gRPC target URL must be grpc://host:port, got ${o.url}`);
    const mode = u.searchParams.get('mode') ?? 'unary';
    if (mode !== 'unary' && mode !== 'stream') throw new Error(`gRPC target mode must be unary or stream, got ${mode}`);
    this.name = o.name;
    this.url = `grpc://${u.host}${mode === 'stream' ? '?mode=stream' : ''}`;
    this.labels = [...o.labelTokenIds];
    const channels = Math.min(MAX_CHANNELS, Math.max(1, Math.ceil(o.connections / CALLS_PER_CHANNEL)));
    for (let i = 0; i < channels; i++) {
      // A local subchannel pool gives each client its own connection (grpc-js shares them otherwise).
      const c = new ScorerClient(u.host, { apiKey: o.apiKey, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
      this.clients.push(c);
      if (mode === 'stream') this.streams.push(c.stream());
    }
  }

  async send(req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    const k = this.next++ % this.clients.length;
    const request = this.request(req);
    let r: ScoreResult;
    try {
      r = this.streams.length > 0 ? await (this.streams[k] as ScoreStream).score(request, signal) : await (this.clients[k] as ScorerClient).score(request, { signal });
    } catch (e) {
      // An abort (the runner's timeout) rejects, as the HTTP targets' do; a status is a result.
      if (signal.aborted || !(e instanceof ScorerError)) throw e;
      return { status: httpLike(e.code) };
    }
    const ok = r.nLabels === this.labels.length && r.scores.length === req.items.length * r.nLabels;
    return { status: ok ? 200 : STATUS_BAD_BODY, cacheHits: r.timing.cacheHits };
  }

  private request(req: BenchRequest): ScoreRequestInit {
    let query = this.queries.get(req.query);
    if (query === undefined) {
      query = { ids: Array.from(req.query.ids) };
      this.queries.set(req.query, query);
    }
    let total = 0;
    for (const it of req.items) total += it.ids.length;
    const ids = new Array<number>(total);
    const lengths = new Array<number>(req.items.length);
    let at = 0;
    req.items.forEach((it, i) => {
      for (let j = 0; j < it.ids.length; j++) ids[at++] = it.ids[j] as number;
      lengths[i] = it.ids.length;
    });
    const out: ScoreRequestInit = { queryIds: query, itemPackedIds: { ids, lengths }, labelTokenIds: this.labels, applySoftmax: true };
    if (req.priority !== undefined) out.priority = req.priority === 'online' ? Priority.PRIORITY_ONLINE : Priority.PRIORITY_NEARLINE;
    if (req.deadlineMs !== undefined) out.deadlineMs = Math.max(1, Math.round(req.deadlineMs));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => s.end().catch(() => undefined)));
    for (const c of this.clients) c.close();
  }
}
