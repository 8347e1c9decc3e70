import { afterAll, describe, expect, it } from 'vitest';
import { BackendGroup } from '../../src/backend/backend-group.js';
import { RetryBudget } from '../../src/backend/retry-budget.js';
import { type BackendReply, SglangBackend } from '../../src/backend/sglang-backend.js';
import { bufferPool } from '../../src/mem/buffer-pool.js';
import { type Batch, giveBatch, packJobs, takeBatch } from '../../src/pipeline/batch.js';
import { sendBatchAsync as sendBatch } from '../../src/pipeline/dispatch-stage.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { backendInfo } from '../support/backend-info.js';

const made: SglangBackend[] = [];
afterAll(async () => {
  await Promise.all(made.map((b) => b.close()));
});

/** A group of one backend whose scoring calls answer `answer` (a reply, or an error to reject with). */
function groupAnswering(answer: () => BackendReply | Error): { group: BackendGroup; backend: SglangBackend } {
  const info = backendInfo();
  const b = new SglangBackend({ url: 'http://127.0.0.1:1', apiKey: null, connections: 1, callTimeoutMs: 1000, healthTimeoutMs: 1000, outlier: { consecutiveFailures: 5, baseEjectionMs: 1000 } });
  made.push(b);
  b.info = info;
  b.healthy = true;
  b.tokenizer = 'match';
  b.postCall = (_path, _body, _scope, _headers, ok, fail) => {
    b.inflight++;
    const a = answer();
    if (a instanceof Error) process.nextTick(fail, a);
    else process.nextTick(ok, a);
  };
  const group = new BackendGroup(info, 0);
  group.members.push(b);
  return { group, backend: b };
}

function reply(text: string): BackendReply {
  const body = bufferPool.acquire(text.length);
  body.write(text);
  return { status: 200, body, length: text.length, contentType: 'application/json' };
}

/** An id job: query [1, 2], items [7] and [8], one label. */
function job(): ScoreJob {
  const j = new ScoreJob();
  j.kind = 'ids';
  j.reserve(2);
  j.qRef = Int32Array.of(1, 2);
  j.qOff = 0;
  j.qLen = 2;
  j.pushLabel(9693);
  j.nLabels = 1;
  j.n = 2;
  for (const [i, id] of [7, 8].entries()) {
    j.aRef[i] = Int32Array.of(id);
    j.aOff[i] = 0;
    j.aLen[i] = 1;
  }
  j.selectAll();
  return j;
}

function oneBatch(j: ScoreJob): Batch {
  const out: Batch[] = [];
  packJobs([j], false, 1000, out);
  expect(out.length).toBe(1);
  return out[0] as Batch;
}

const policy = { retryBudget: new RetryBudget(), maxAttempts: 1, hedge: false, hedgeMinDelayMs: 0 };
const observe = (): void => {};

/** Whether b is back in the batch pool, once: the next two takes are b and then another object. */
function backOnce(b: Batch): boolean {
  const first = takeBatch();
  const second = takeBatch();
  giveBatch(second);
  giveBatch(first);
  return first === b && second !== b;
}

describe('sendBatch', () => {
  it('with give, returns the batch to the pool exactly once when its call succeeds, and maps the rows', async () => {
    const { group, backend } = groupAnswering(() => reply('{"scores":[[0.25],[0.75]],"object":"scoring"}'));
    const j = job();
    const b = oneBatch(j);
    await sendBatch(b, group, policy, observe, undefined, true);
    expect(backOnce(b)).toBe(true);
    expect([0, 1].map((i) => (j.rowBuf[i] as Buffer).toString('utf8', j.rowStart[i], j.rowEnd[i]))).toEqual(['[0.25]', '[0.75]']);
    expect(backend.inflight).toBe(0);
    j.reset();
  });

  it('with give, returns it exactly once when the call fails, and the failure is the backend\'s', async () => {
    const { group, backend } = groupAnswering(() => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const b = oneBatch(job());
    await expect(sendBatch(b, group, policy, observe, undefined, true)).rejects.toThrow('socket hang up');
    expect(backOnce(b)).toBe(true);
    expect(backend.inflight).toBe(0);
    expect(backend.lastError).toContain('socket hang up');
  });

  it('without give (coalesced batches: the coalescer gives them back), leaves the batch alone', async () => {
    const { group } = groupAnswering(() => reply('{"scores":[[0.25],[0.75]],"object":"scoring"}'));
    const j = job();
    const b = oneBatch(j);
    await sendBatch(b, group, policy, observe, undefined, false);
    expect(b.count).toBe(1);
    const next = takeBatch();
    expect(next).not.toBe(b);
    giveBatch(next);
    giveBatch(b);
    j.reset();
  });

  it('a client that left is not recorded as the backend\'s last error', async () => {
    const { CancelledError } = await import('../../src/mem/cancel-scope.js');
    const { group, backend } = groupAnswering(() => new CancelledError());
    const b = oneBatch(job());
    await expect(sendBatch(b, group, policy, observe, undefined, true)).rejects.toThrow('the client went away');
    expect(backend.lastError).toBe('');
    expect(backend.inflight).toBe(0);
  });
});
