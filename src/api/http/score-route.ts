import type { HttpReply, HttpRequestView } from './exchange.js';
import type { Logger } from '../../observe/logger.js';
import { bufferPool } from '../../mem/buffer-pool.js';
import { Timing, setTimingHeaders } from '../timing-headers.js';
import { ByteWriter, lit } from '../../mem/byte-writer.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { RouteMeter } from '../../metrics/route-meter.js';
import { ScoreError } from '../../pipeline/errors.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import type { ScorePipeline } from '../../pipeline/score-pipeline.js';
import { CONTENT_TYPE_MESSAGE, fastapiParsesJson, isSglangJsonContentType } from '../../sglang/content-type.js';
import { TYPE_BAD_REQUEST, TYPE_VALIDATION } from '../../sglang/errors.js';
import { type RequestDefaults, applyUrgency, deadlineHeader, priorityHeader } from '../request-options.js';
import { scoreSemantics } from '../../sglang/score-schema.js';
import { sendBody } from './reply.js';
import { type Exchange, LATER, ScoringRoute } from './scoring-route.js';
import { scanOut, scanScoreBody } from './score-scanner.js';
import { tooManyItems } from '../limits.js';
import { parseScoreBodySlow } from './score-slow-path.js';

export interface ScoreRouteOptions extends RequestDefaults {
  /** Where failed requests are logged (observe/logger.ts); default: nowhere. */
  log?: Logger;
  maxItems: number;
  /** Label bound, as SGLang checks labels: its tokenizer's vocab_size. */
  vocabSize: number;
  /** FastAPI's endpoint line in validation messages, as the backend writes it. */
  endpointContext(): string;
}

const SCORES_OPEN = lit('{"scores":[');
// ScoringResponse and UsageInfo field order in SGLang 0.5.23 (protocol.py:1518-1537).
const AFTER_ROWS = lit('],"pooled_hidden_states":null,"token_logprobs":null,"model":"');
const DEFAULT_MODEL = lit('default');
const USAGE_OPEN = lit('","usage":{"prompt_tokens":');
const USAGE_NULL = lit('","usage":null,"object":"scoring"}');
const TOTAL = lit(',"total_tokens":');
const USAGE_CLOSE = lit(
  ',"completion_tokens":0,"prompt_tokens_details":null,"reasoning_tokens":0,"completion_tokens_details":null},"object":"scoring"}',
);

/** SGLang's ScoringResponse, written from the backend's own row bytes in item order. */
function writeScoreResponse(w: ByteWriter, job: ScoreJob): void {
  w.reset();
  w.raw(SCORES_OPEN);
  for (let i = 0; i < job.n; i++) {
    if (i > 0) w.byte(0x2c);
    w.bytes(job.rowBuf[i] as Buffer, job.rowStart[i] as number, job.rowEnd[i] as number);
  }
  w.raw(AFTER_ROWS);
  if (job.modelStart >= 0) w.bytes(job.body, job.modelStart, job.modelEnd);
  else w.raw(DEFAULT_MODEL);
  if (job.promptTokens < 0) {
    // The backend reports no usage for this request: neither does scorecar.
    w.raw(USAGE_NULL);
    return;
  }
  w.raw(USAGE_OPEN);
  w.int(job.promptTokens);
  w.raw(TOTAL);
  w.int(job.promptTokens);
  w.raw(USAGE_CLOSE);
}

export class ScoreRoute extends ScoringRoute {
  private readonly writers: ReplyWriter[] = [];
  /** The figures of the answer being written; read at once by endTimed, never held. */
  private readonly timing = new Timing();

  constructor(
    private readonly pipeline: ScorePipeline,
    metrics: ScorecarMetrics,
    private readonly opts: ScoreRouteOptions,
  ) {
    super(new RouteMeter(metrics, '/v1/score'), opts.log);
  }

  /**
   * Validates like SGLang (FastAPI's JSON parse, the content-type check, pydantic, then
   * score_request's checks, in that order), scores, and answers.
   */
  protected answer(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, job: ScoreJob, started: number, x: Exchange): number | Promise<number> {
    const ct = req.headers['content-type'];
    if (!fastapiParsesJson(ct)) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
    // The body is the route's pooled buffer (ScoringRoute releases it): its tail is scratch.
    if (!scanScoreBody(body, length, job, this.opts.maxItems, true)) {
      if (scanOut.tooManyItems) throw tooManyItems(this.opts.maxItems);
      const slow = parseScoreBodySlow(body, length, job, this.opts.endpointContext(), this.opts.vocabSize, this.opts.maxItems);
      if (!slow.ok) {
        // FastAPI runs SGLang's content-type dependency after parsing and before validating.
        if (slow.parsed && !isSglangJsonContentType(ct)) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
        throw new ScoreError(400, slow.message, slow.type);
      }
    }
    if (!isSglangJsonContentType(ct)) throw new ScoreError(400, CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
    // The client's own bytes, for a backend whose tokenizer differs (the slow path rebuilt job.body).
    job.rawRequest = body;
    job.rawLength = length;
    // A text query with token-id items is scored by SGLang as text (str() of each id list).
    if (job.queryKind === 'text' && job.itemsKind === 'ids') job.asIs = true;
    if (job.asIs) {
      if (job.n > this.opts.maxItems) {
        throw new ScoreError(400, `Too many items: ${job.n} > ${this.opts.maxItems} (scorecar --max-items)`, TYPE_BAD_REQUEST);
      }
      applyUrgency(job, deadlineHeader(req.headers['x-scorecar-deadline-ms']), priorityHeader(req.headers['x-scorecar-priority']), this.opts, started);
      return this.run(job, x);
    }
    const sem = scoreSemantics(
      job.hasLabels,
      job.labels,
      job.nLabels,
      job.itemsPresent,
      job.n,
      job.queryKind,
      job.itemsKind,
      this.opts.vocabSize,
    );
    if (sem.kind === 'error') throw new ScoreError(400, sem.message, TYPE_BAD_REQUEST);
    if (sem.kind === 'empty') {
      job.n = 0;
      return this.reply(res, job, started);
    }
    job.kind = sem.kind;
    applyUrgency(job, deadlineHeader(req.headers['x-scorecar-deadline-ms']), priorityHeader(req.headers['x-scorecar-priority']), this.opts, started);
    if (job.n > this.opts.maxItems) throw tooManyItems(this.opts.maxItems, job.n);
    return this.run(job, x);
  }

  /** The pipeline continues with x's ran/failed, and the reply is written by afterRun: no frame or promise of this route's per request. */
  private run(job: ScoreJob, x: Exchange): number {
    return this.pipeline.start(job, x.ran, x.failed) ? this.afterRun(x) : LATER;
  }

  override afterRun(x: Exchange): number {
    return this.reply(x.res as HttpReply, x.job as ScoreJob, x.started);
  }

  /** The answer once the pipeline has run: the backend's reply relayed, or the scores in item order. */
  private reply(res: HttpReply, job: ScoreJob, started: number): number {
    if (job.relay) {
      const r = job.relay;
      // The route owns the pooled reply buffer from here: it goes back to the pool only once the
      // socket has written it (or the response is gone), never while a slow reader still waits.
      job.relay = null;
      const sent = sendBody(
        res,
        r.status,
        r.body.subarray(0, r.length),
        r.contentType,
        {
          'x-request-id': job.requestId,
          'x-scorecar-relayed': job.asIs ? 'as-is' : 'tokenizer-mismatch',
          // Relayed text is never looked up in the score cache (the ids it would key on are unknown).
          'x-scorecar-cache-hits': '0',
        },
        () => bufferPool.release(r.body),
      );
      if (!sent) bufferPool.release(r.body);
      return r.status;
    }
    this.meter.items(job.n);
    const w = this.writers.pop() ?? new ReplyWriter(this.writers);
    w.rearm(16384);
    const t0 = job.trace !== null ? performance.now() : 0;
    writeScoreResponse(w, job);
    // Rows (backend replies and cache hits) merged back into item order, as one response.
    if (job.trace !== null) job.trace.stage('merge', t0, performance.now(), { 'scorecar.items': job.n });
    const totalMs = performance.now() - started;
    if (res.endTimed !== undefined) {
      // scorecar's own front writes the head's figures as bytes: no header object or strings,
      // and it copies the writer's bytes without a view of them.
      res.endTimed(w.buf, w.pos, w.written, job.requestId, this.timing.of(job, job.n, totalMs));
      return 200;
    }
    const out = w.view();
    // Every header in the literal, the timing ones as placeholders that setTimingHeaders fills:
    // properties added to a smaller literal would grow a backing store per request.
    const headers = {
      'content-type': 'application/json',
      'content-length': out.length,
      'x-request-id': job.requestId,
      'x-scorecar-items': '',
      'x-scorecar-cache-hits': '',
      'x-scorecar-tokenize-ms': '',
      'x-scorecar-queue-ms': '',
      'x-scorecar-backend-ms': '',
      'x-scorecar-total-ms': '',
    };
    res.writeHead(200, setTimingHeaders(headers, job, job.n, totalMs));
    // The buffer is reused only once the socket has taken the bytes.
    res.end(out, w.written);
    return 200;
  }
}

/** A response writer that returns itself to its route's free list once the socket has its bytes. */
class ReplyWriter extends ByteWriter {
  /** Bound once: res.end's callback, without a closure per response. */
  readonly written = (): void => {
    // A writer grown past 1 MiB for one large answer gives its buffer back rather than keep it.
    if (this.buf.length > 1 << 20) this.release();
    if (this.free.length < 64) this.free.push(this);
    else this.release();
  };

  constructor(private readonly free: ReplyWriter[]) {
    super(16384);
  }
}
