import { type CallOptions, type ChannelCredentials, type ChannelOptions, Client, Metadata, type ServiceError, credentials } from '@grpc/grpc-js';
import {
  METHOD_RANK,
  METHOD_SCORE,
  METHOD_SCORE_STREAM,
  type RankRequestInit,
  type RankResponseMsg,
  type ScoreRequestInit,
  type ScoreStreamRequestInit,
  type ScoreStreamResponseMsg,
  pb,
} from '../api/grpc/messages.js';
import { type ScoreResult, ScorerError, type Timing, decodeScoreResponse, scoreResult, timingFromMetadata, toBuffer } from './codec.js';
import { ScoreStream } from './score-stream.js';

export interface ScorerClientOptions {
  /** Default: plaintext (scorecar listens without TLS; put TLS in front if needed). */
  credentials?: ChannelCredentials;
  /** scorecar's --api-key, sent as `authorization: Bearer KEY`. */
  apiKey?: string | null;
  channelOptions?: ChannelOptions;
}

export interface RequestOptions {
  /** The call's gRPC deadline, from now; scorecar schedules the request to meet it. */
  deadlineMs?: number;
  /** Cancels the call (the server stops scoring it). */
  signal?: AbortSignal;
}

export interface RankResult {
  /** Scored candidates, best first: id, P(yes) and whether the score was cached. */
  results: Array<{ id: string; score: number; cached: boolean }>;
  unscored: string[];
  depth: number;
  cacheHits: number;
  model: string;
  timing: Timing;
}

const serializeScore = (m: ScoreRequestInit): Buffer => toBuffer(pb.ScoreRequest.encode(m).finish());
const serializeRank = (m: RankRequestInit): Buffer => toBuffer(pb.RankRequest.encode(m).finish());
const serializeStream = (m: ScoreStreamRequestInit): Buffer => toBuffer(pb.ScoreStreamRequest.encode(m).finish());
const decodeRank = (b: Buffer): RankResponseMsg => pb.RankResponse.decode(b);
const decodeStream = (b: Buffer): ScoreStreamResponseMsg => pb.ScoreStreamResponse.decode(b);

/**
 * A small client for scorecar.v1.Scorer on @grpc/grpc-js and the generated messages. Failures
 * reject with ScorerError (gRPC code, message, retry-after).
 *
 *   const c = new ScorerClient('127.0.0.1:30002');
 *   const r = await c.score({ queryIds: { ids: q }, itemPackedIds: packTokenIds(items), labelTokenIds: [9693, 2152], applySoftmax: true });
 *   scoreRows(r)[0][0]; // P(yes) of the first item
 */
export class ScorerClient {
  private readonly client: Client;
  private readonly metadata: Metadata;

  constructor(address: string, opts: ScorerClientOptions = {}) {
    this.client = new Client(address, opts.credentials ?? credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      ...opts.channelOptions,
    });
    this.metadata = new Metadata();
    if (opts.apiKey) this.metadata.set('authorization', `Bearer ${opts.apiKey}`);
  }

  score(request: ScoreRequestInit, opts: RequestOptions = {}): Promise<ScoreResult> {
    return this.unary(METHOD_SCORE, serializeScore, decodeScoreResponse, request, opts, (r, t) => scoreResult(r, t));
  }

  rank(request: RankRequestInit, opts: RequestOptions = {}): Promise<RankResult> {
    return this.unary(METHOD_RANK, serializeRank, decodeRank, request, opts, (r, timing) => ({
      results: (r.results ?? []).map((x) => ({ id: x.id ?? '', score: x.score ?? 0, cached: x.cached === true })),
      unscored: r.unscored ?? [],
      depth: r.depth ?? 0,
      cacheHits: r.cacheHits ?? 0,
      model: r.model ?? '',
      timing,
    }));
  }

  /** Opens a ScoreStream; `deadlineMs` bounds the whole stream. */
  stream(opts: Omit<RequestOptions, 'signal'> = {}): ScoreStream {
    const call = this.client.makeBidiStreamRequest(METHOD_SCORE_STREAM, serializeStream, decodeStream, this.metadata.clone(), callOptions(opts));
    return new ScoreStream(call);
  }

  close(): void {
    this.client.close();
  }

  private unary<Req, Res, Out>(
    method: string,
    serialize: (m: Req) => Buffer,
    deserialize: (b: Buffer) => Res,
    request: Req,
    opts: RequestOptions,
    finish: (r: Res, timing: Timing) => Out,
  ): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      let response: Res | null = null;
      const call = this.client.makeUnaryRequest(method, serialize, deserialize, request, this.metadata.clone(), callOptions(opts), (err: ServiceError | null, r?: Res) => {
        if (err) reject(ScorerError.fromServiceError(err));
        else response = r ?? null;
      });
      // The x-scorecar-* figures arrive as trailing metadata, with the status, after the message.
      call.on('status', (s: { code: number; metadata: Metadata }) => {
        if (s.code === 0 && response !== null) resolve(finish(response, timingFromMetadata(s.metadata)));
      });
      const signal = opts.signal;
      if (signal) {
        if (signal.aborted) call.cancel();
        else signal.addEventListener('abort', () => call.cancel(), { once: true });
      }
    });
  }
}

function callOptions(opts: { deadlineMs?: number }): CallOptions {
  return opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
}
