import type { BackendGroup } from '../backend/backend-group.js';
import { FleetCall, type FleetPolicy } from '../backend/fleet-call.js';
import type { ScoringMode } from '../backend/server-info.js';
import { readScoreReply } from '../backend/score-reply.js';
import { writeScoreBody } from '../backend/score-body.js';
import { type BackendReply, SglangBackend } from '../backend/sglang-backend.js';
import { bufferPool } from '../mem/buffer-pool.js';
import { CancelScope } from '../mem/cancel-scope.js';
import { noop, resume, resumeWith } from '../mem/continuation.js';
import { ByteWriter } from '../mem/byte-writer.js';
import type { Logger } from '../observe/logger.js';
import { REQUEST_ID_HEADER, type RequestIds } from '../observe/request-id.js';
import { type Link, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TRACEPARENT, traceparentOf } from '../observe/tracing.js';
import { type Batch, giveBatch } from './batch.js';
import type { ScoreJob } from './score-job.js';
import { copyBytes } from '../mem/copy-bytes.js';

const writers: ByteWriter[] = [];

function takeWriter(): ByteWriter {
  const w = writers.pop();
  if (w) {
    w.rearm(16384);
    return w;
  }
  return new ByteWriter(16384);
}

function giveWriter(w: ByteWriter): void {
  if (writers.length < 64) {
    w.reset();
    writers.push(w);
  } else w.release();
}

/** Observes each backend call: items and tokens it carried. */
export type PackObserver = (mode: ScoringMode, items: number, tokens: number) => void;

/** Where a coalesced call's batch id comes from, and where its request ids are logged. */
export interface BatchIds {
  ids: RequestIds;
  log: Logger;
}

/**
 * The headers a batch's backend call carries, and its span (tracing on). A lone request's call
 * carries that request's x-request-id. A coalesced call carries several requests, so it gets an
 * id of its own (scb-...), and the mapping batch id -> request ids is logged at debug and put on
 * the call's span (scorecar.request_ids); one of the clients' ids would mislabel the others.
 * The call's span is a child of the lead request's span, linked to the others' spans; it goes
 * on `c`, and the headers are returned (no result object per call).
 */
function callHeaders(batch: Batch, batchIds: BatchIds | undefined, c: BatchCall): Record<string, string> | undefined {
  const lead = batch.lead();
  let id = lead.requestId;
  if (batch.count > 1 && batchIds !== undefined) {
    id = batchIds.ids.nextBatch();
    if (batchIds.log.isLevelEnabled('debug')) {
      const reqIds: string[] = [];
      for (let s = 0; s < batch.count; s++) reqIds.push((batch.jobs[s] as ScoreJob).requestId);
      batchIds.log.debug({ batchId: id, reqIds, items: batch.items }, 'coalesced backend call');
    }
  }
  const t = lead.trace;
  let span: Span | null = null;
  let traceparent = batch.count === 1 ? lead.traceparent : null;
  if (t !== null) {
    let links: Link[] | undefined;
    if (batch.count > 1) {
      links = [];
      for (let s = 1; s < batch.count; s++) {
        const other = (batch.jobs[s] as ScoreJob).trace;
        if (other !== null) links.push({ context: other.span.spanContext() });
      }
    }
    span = t.child('backend score', SpanKind.CLIENT, performance.now(), links);
    span.setAttribute('scorecar.items', batch.items);
    span.setAttribute('scorecar.tokens', batch.tokens);
    span.setAttribute('scorecar.coalesced_requests', batch.count);
    if (id !== '') span.setAttribute('scorecar.backend_request_id', id);
    if (batch.count > 1) {
      const reqIds: string[] = [];
      for (let s = 0; s < batch.count; s++) reqIds.push((batch.jobs[s] as ScoreJob).requestId);
      span.setAttribute('scorecar.request_ids', reqIds);
    }
    traceparent = traceparentOf(span);
  }
  c.span = span;
  if (id === '' && traceparent === null) return undefined;
  const headers: Record<string, string> = {};
  if (id !== '') headers[REQUEST_ID_HEADER] = id;
  if (traceparent !== null) headers[TRACEPARENT] = traceparent;
  return headers;
}

/**
 * Gives each job of a shared reply its own copy of its rows, so the reply buffer can go back to
 * the pool now and no job's lifetime depends on another's. A job's rows are copied as the one
 * span of the reply that holds them all (separators included): on Node 20 every ranged
 * Buffer#copy allocates a view of its source, one per row was ~0.9 KB of heap per request.
 */
function detachRows(batch: Batch, reply: Buffer): void {
  for (let s = 0; s < batch.count; s++) {
    const job = batch.jobs[s]!;
    const from = batch.from[s] as number;
    const to = batch.to[s] as number;
    let lo = reply.length;
    let hi = 0;
    for (let k = from; k < to; k++) {
      const i = job.active[k] as number;
      lo = Math.min(lo, job.rowStart[i] as number);
      hi = Math.max(hi, job.rowEnd[i] as number);
    }
    const own = bufferPool.acquire(Math.max(1, hi - lo));
    if (hi > lo) copyBytes(reply, lo, hi, own, 0);
    for (let k = from; k < to; k++) {
      const i = job.active[k] as number;
      job.rowBuf[i] = own;
      job.rowStart[i] = (job.rowStart[i] as number) - lo;
      job.rowEnd[i] = (job.rowEnd[i] as number) - lo;
    }
    job.hold(own);
  }
  bufferPool.release(reply);
}

/**
 * One batch's call in flight: what an async sendBatch would keep in its frame across the call,
 * in a pooled object whose continuations are bound once (the floor bench's allocation profile
 * had ~0.8 KB of heap per request in that frame and its await).
 */
class BatchCall {
  batch: Batch | null = null;
  w: ByteWriter | null = null;
  span: Span | null = null;
  give = false;
  ok: () => void = noop;
  fail: (e: unknown) => void = noop;

  readonly replied = (reply: BackendReply): void => {
    const batch = this.batch as Batch;
    let error: unknown = null;
    try {
      takeReply(batch, reply, this.span);
    } catch (e) {
      error = e;
    }
    this.ended(error);
  };

  readonly failed = (e: unknown): void => this.ended(e);

  /** However the call ended: span, writer and (when handed over) batch back, then the caller's continuation. */
  ended(error: unknown): void {
    const { batch, w, span, give, ok, fail } = this;
    this.batch = null;
    this.w = null;
    this.span = null;
    this.ok = noop;
    this.fail = noop;
    if (calls.length < 256) calls.push(this);
    if (error !== null) span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span?.end(performance.now());
    if (w !== null) giveWriter(w);
    if (give) giveBatch(batch as Batch);
    if (error === null) resume(ok);
    else resumeWith(fail, error);
  }
}

const calls: BatchCall[] = [];

/** Maps a reply's rows onto the batch's jobs (a non-200 reply is the backend's error, relayed). */
function takeReply(batch: Batch, reply: BackendReply, span: Span | null): void {
  span?.setAttribute('http.response.status_code', reply.status);
  if (reply.status !== 200) throw SglangBackend.upstreamError(reply);
  let reported: number;
  try {
    reported = readScoreReply(reply.body, reply.length, batch);
  } catch (e) {
    bufferPool.release(reply.body);
    throw e;
  }
  // usage is computed per request from its token counts (usage.ts); the backend's own
  // figure only says whether it reports usage at all.
  if (reported < 0) for (let s = 0; s < batch.count; s++) (batch.jobs[s] as ScoreJob).usageNull = true;
  if (batch.count === 1) batch.lead().hold(reply.body);
  else detachRows(batch, reply.body);
}

/**
 * Sends one batch to the group its jobs were routed to: writes its body into a pooled buffer,
 * posts it through the fleet (retries and hedges on other members of the group, never outside
 * it), and maps the reply's rows onto its jobs. The reported prompt tokens go to a lone job;
 * coalesced jobs are charged their own share. With `give`, the batch goes back to its pool once
 * the call has settled (the coalescer's SendBatch contract), however it ends. Continues with
 * `ok` or `fail`, once, never before sendBatch returns.
 */
export function sendBatch(
  batch: Batch,
  group: BackendGroup,
  policy: FleetPolicy,
  observe: PackObserver,
  batchIds: BatchIds | undefined,
  give: boolean,
  ok: () => void,
  fail: (e: unknown) => void,
): void {
  const c = calls.pop() ?? new BatchCall();
  c.batch = batch;
  c.give = give;
  c.ok = ok;
  c.fail = fail;
  let fleet: FleetCall;
  try {
    observe(group.mode, batch.items, batch.tokens);
    const lead = batch.lead();
    const w = (c.w = takeWriter());
    const headers = callHeaders(batch, batchIds, c);
    writeScoreBody(w, batch);
    fleet = FleetCall.take();
    fleet.body = w.buf;
    fleet.bodyLength = w.pos;
    fleet.tokens = batch.tokens;
    // A shared call must outlive any one client leaving; only a lone job's call is cancelled.
    fleet.scope = batch.count === 1 ? lead.scope : undefined;
    // A retry serves whoever still waits: the latest deadline among the batch's jobs.
    let deadlineAt = lead.deadlineAt;
    for (let s = 1; s < batch.count; s++) deadlineAt = Math.max(deadlineAt, (batch.jobs[s] as ScoreJob).deadlineAt);
    fleet.deadlineAt = deadlineAt;
    fleet.headers = headers;
    fleet.span = c.span;
  } catch (e) {
    // Failed before the call was made (writing the body): the same ending, after this returns.
    process.nextTick(failEarly, c, e);
    return;
  }
  fleet.start(group, policy, newScope, c.replied, c.failed);
}

function failEarly(c: BatchCall, e: unknown): void {
  c.ended(e);
}

/** sendBatch with a promise, for a coalesced flush's several batches (Promise.allSettled). */
export function sendBatchAsync(batch: Batch, group: BackendGroup, policy: FleetPolicy, observe: PackObserver, batchIds: BatchIds | undefined, give: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => sendBatch(batch, group, policy, observe, batchIds, give, resolve, reject));
}

function newScope(): CancelScope {
  return new CancelScope();
}
