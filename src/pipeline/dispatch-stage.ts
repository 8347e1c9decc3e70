import { BackendUnavailable } from '../backend/errors.js';
import type { BackendSet } from '../backend/backend-set.js';
import type { ScoringMode } from '../backend/server-info.js';
import { readScoreReply } from '../backend/score-reply.js';
import { writeScoreBody } from '../backend/score-body.js';
import { SglangBackend } from '../backend/sglang-backend.js';
import { ByteWriter } from '../mem/byte-writer.js';
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
 * Sends one pack: writes its body into a pooled buffer, posts it, and maps the reply's rows
 * onto the job. A backend that cannot be reached is swapped for another healthy one once.
 */
async function sendPack(
  job: ScoreJob,
  backends: BackendSet,
  mode: ScoringMode,
  from: number,
  to: number,
): Promise<void> {
  const w = takeWriter();
  try {
    writeScoreBody(w, job, from, to);
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      const backend = backends.pick(mode);
      if (backend === null) throw lastError ?? new BackendUnavailable('no healthy SGLang backend');
      try {
        const reply = await backend.post('/v1/score', w.view(), job.scope);
        if (reply.status !== 200) throw SglangBackend.upstreamError(reply);
        job.held.push(reply.body);
        job.promptTokens += readScoreReply(reply.body, reply.length, job, from, to);
        return;
      } catch (e) {
        if (!(e instanceof BackendUnavailable)) throw e;
        lastError = e;
      }
    }
    throw lastError;
  } finally {
    giveWriter(w);
  }
}

/**
 * Sends every pack of a job, concurrently, and fills its score rows in item order. When packs
 * fail, the first failing pack in item order decides the answer.
 */
export async function dispatchPacks(
  job: ScoreJob,
  backends: BackendSet,
  mode: ScoringMode,
  observe: PackObserver,
): Promise<void> {
  const started = performance.now();
  const packs = job.nPacks;
  const starts = job.packStart;
  for (let k = 0; k < packs; k++) {
    const from = starts[k] as number;
    const to = starts[k + 1] as number;
    let tokens = 0;
    for (let i = from; i < to; i++) tokens += job.promptLength(i);
    observe(mode, to - from, tokens);
  }
  try {
    if (packs === 1) {
      await sendPack(job, backends, mode, 0, job.n);
      return;
    }
    const calls: Promise<void>[] = [];
    for (let k = 0; k < packs; k++) calls.push(sendPack(job, backends, mode, starts[k] as number, starts[k + 1] as number));
    const settled = await Promise.allSettled(calls);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  } finally {
    job.backendMs += performance.now() - started;
  }
}

