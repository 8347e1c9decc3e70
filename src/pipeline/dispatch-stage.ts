import type { BackendGroup } from '../backend/backend-group.js';
import { type FleetPolicy, callFleet } from '../backend/fleet-call.js';
import type { ScoringMode } from '../backend/server-info.js';
import { readScoreReply } from '../backend/score-reply.js';
import { writeScoreBody } from '../backend/score-body.js';
import { SglangBackend } from '../backend/sglang-backend.js';
import { bufferPool } from '../mem/buffer-pool.js';
import { CancelScope } from '../mem/cancel-scope.js';
import { ByteWriter } from '../mem/byte-writer.js';
import type { Batch } from './batch.js';
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
 * coalesced jobs are charged their own share.
 */
export async function sendBatch(batch: Batch, group: BackendGroup, policy: FleetPolicy, observe: PackObserver): Promise<void> {
  const mode = group.mode;
  observe(mode, batch.items, batch.tokens);
  const lead = batch.lead();
  const w = takeWriter();
  try {
    writeScoreBody(w, batch);
    // A retry serves whoever still waits: the latest deadline among the batch's jobs.
    let deadlineAt = lead.deadlineAt;
    for (let s = 1; s < batch.count; s++) deadlineAt = Math.max(deadlineAt, (batch.jobs[s] as ScoreJob).deadlineAt);
    // A shared call must outlive any one client leaving; only a lone job's call is cancelled.
    const reply = await callFleet(
      group,
      { path: '/v1/score', body: w.view(), tokens: batch.tokens, scope: batch.count === 1 ? lead.scope : undefined, deadlineAt, idempotent: true },
      policy,
      newScope,
    );
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
  } finally {
    giveWriter(w);
  }
}

function newScope(): CancelScope {
  return new CancelScope();
}
