import type { BackendGroup } from '../backend/backend-group.js';
import { type FleetPolicy, callFleet } from '../backend/fleet-call.js';
import type { ScoringMode } from '../backend/server-info.js';
import { readScoreReply } from '../backend/score-reply.js';
import { writeScoreBody } from '../backend/score-body.js';
import { SglangBackend } from '../backend/sglang-backend.js';
import { bufferPool } from '../mem/buffer-pool.js';
import { CancelScope } from '../mem/cancel-scope.js';
import { ByteWriter } from '../mem/byte-writer.js';
import type { Logger } from '../observe/logger.js';
import { REQUEST_ID_HEADER, type RequestIds } from '../observe/request-id.js';
import { type Link, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { TRACEPARENT, traceparentOf } from '../observe/tracing.js';
import { type Batch, giveBatch } from './batch.js';
import type { ScoreJob } from './score-job.js';

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
 * The call's span is a child of the lead request's span, linked to the others' spans.
 */
function callHeaders(batch: Batch, batchIds: BatchIds | undefined): { headers: Record<string, string> | undefined; span: Span | null } {
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
  if (id === '' && traceparent === null) return { headers: undefined, span };
  const headers: Record<string, string> = {};
  if (id !== '') headers[REQUEST_ID_HEADER] = id;
  if (traceparent !== null) headers[TRACEPARENT] = traceparent;
  return { headers, span };
}

/**
 * Gives each job of a shared reply its own copy of its rows, so the reply buffer can go back to
 * the pool now and no job's lifetime depends on another's.
 */
function detachRows(batch: Batch, reply: Buffer): void {
  for (let s = 0; s < batch.count; s++) {
    const job = batch.jobs[s]!;
    let bytes = 0;
    for (let k = batch.from[s] as number; k < (batch.to[s] as number); k++) {
      const i = job.active[k] as number;
      bytes += (job.rowEnd[i] as number) - (job.rowStart[i] as number);
    }
    const own = bufferPool.acquire(bytes);
    let at = 0;
    for (let k = batch.from[s] as number; k < (batch.to[s] as number); k++) {
      const i = job.active[k] as number;
      const len = reply.copy(own, at, job.rowStart[i] as number, job.rowEnd[i] as number);
      job.rowBuf[i] = own;
      job.rowStart[i] = at;
      job.rowEnd[i] = at + len;
      at += len;
    }
    job.held.push(own);
  }
  bufferPool.release(reply);
}

/**
 * Sends one batch to the group its jobs were routed to: writes its body into a pooled buffer,
 * posts it through the fleet (retries and hedges on other members of the group, never outside
 * it), and maps the reply's rows onto its jobs. The reported prompt tokens go to a lone job;
 * coalesced jobs are charged their own share. With `give`, the batch goes back to its pool once
 * the call has settled (the coalescer's sendOne contract).
 */
export async function sendBatch(batch: Batch, group: BackendGroup, policy: FleetPolicy, observe: PackObserver, batchIds: BatchIds | undefined, give: boolean): Promise<void> {
  let w: ByteWriter | null = null;
  let span: Span | null = null;
  // Everything inside the try, so that a batch handed over (give) goes back however this ends.
  try {
    observe(group.mode, batch.items, batch.tokens);
    const lead = batch.lead();
    w = takeWriter();
    const call = callHeaders(batch, batchIds);
    const headers = call.headers;
    span = call.span;
    writeScoreBody(w, batch);
    // A retry serves whoever still waits: the latest deadline among the batch's jobs.
    let deadlineAt = lead.deadlineAt;
    for (let s = 1; s < batch.count; s++) deadlineAt = Math.max(deadlineAt, (batch.jobs[s] as ScoreJob).deadlineAt);
    // A shared call must outlive any one client leaving; only a lone job's call is cancelled.
    const reply = await callFleet(
      group,
      { path: '/v1/score', body: w.view(), tokens: batch.tokens, scope: batch.count === 1 ? lead.scope : undefined, deadlineAt, idempotent: true, headers, span },
      policy,
      newScope,
    );
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
    if (batch.count === 1) lead.held.push(reply.body);
    else detachRows(batch, reply.body);
  } catch (e) {
    span?.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    span?.end(performance.now());
    if (w !== null) giveWriter(w);
    if (give) giveBatch(batch);
  }
}

function newScope(): CancelScope {
  return new CancelScope();
}
