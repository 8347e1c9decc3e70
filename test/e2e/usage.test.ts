import type { Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, postJson, startEmulator, startScorecar } from './harness.js';
import { startFakeSglang } from '../support/fake-sglang.js';

/**
 * A cached answer is the same answer: usage.prompt_tokens through scorecar equals what the
 * backend reports for the same request sent directly, on the first request, on every repeat
 * answered from the score cache, on partial hits, and when scorecar splits a request into several
 * backend calls.
 */
const procs: Proc[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
  for (const s of servers) s.close();
});

interface ScoreReply {
  scores: number[][];
  usage: { prompt_tokens: number; total_tokens: number } | null;
}

const texts = Array.from({ length: 9 }, (_, i) => `Title: engineer number ${i}, remote, Zürich ${'x'.repeat(i * 7)}`);
const bodies = {
  text: { query: 'Query: python jobs\nCandidate: ', items: texts, label_token_ids: [9693, 2152], apply_softmax: true },
  ids: { query: [1, 2, 3, 4, 5], items: Array.from({ length: 9 }, (_, i) => Array.from({ length: 3 + i }, (_, j) => 100 + i * 10 + j)), label_token_ids: [9693] },
};

async function usageCase(emulatorArgs: string[], scorecarArgs: string[]): Promise<void> {
  const emulator = await startEmulator(emulatorArgs);
  procs.push(emulator);
  const scorecar = await startScorecar([emulator.url], ['--coalesce-window-ms', '0', ...scorecarArgs]);
  procs.push(scorecar);
  for (const body of [bodies.text, bodies.ids]) {
    const direct = JSON.parse((await postJson(emulator.url, '/v1/score', body)).text) as ScoreReply;
    expect(direct.usage?.prompt_tokens).toBeGreaterThan(0);
    // Partial hits first: a third of the items are cached before the whole request comes.
    const part = { ...body, items: (body.items as unknown[]).slice(0, 3) };
    const partDirect = JSON.parse((await postJson(emulator.url, '/v1/score', part)).text) as ScoreReply;
    expect((JSON.parse((await postJson(scorecar.url, '/v1/score', part)).text) as ScoreReply).usage).toEqual(partDirect.usage);
    const hits: string[] = [];
    for (let r = 0; r < 13; r++) {
      const via = await postJson(scorecar.url, '/v1/score', body);
      expect(via.status).toBe(200);
      hits.push(String(via.headers['x-scorecar-cache-hits']));
      const v = JSON.parse(via.text) as ScoreReply;
      expect(v.usage).toEqual(direct.usage);
      expect(v.scores).toEqual(direct.scores);
    }
    expect(hits[0]).toBe('3');
    expect(hits.slice(1)).toEqual(Array(12).fill('9'));
  }
}

describe('usage', () => {
  it('single-item: equal to SGLang direct, first and 12 cached repeats, calls split', async () => {
    await usageCase([], ['--max-call-tokens', '64']);
  });

  it('multi-item: equal to SGLang direct (query + items + delimiters), first and 12 cached repeats, packs split', async () => {
    await usageCase(['--mis'], ['--max-pack-tokens', '48']);
  });

  it('usage null from the backend is usage null from scorecar, cached or not', async () => {
    const { url, server } = await startFakeSglang({
      modelPath: 'null/usage',
      score: (body) => {
        const b = JSON.parse(body) as { items: unknown[]; label_token_ids: number[] };
        return { body: { scores: b.items.map(() => b.label_token_ids.map(() => 0.25)), pooled_hidden_states: null, model: 'm', usage: null, object: 'scoring' } };
      },
    });
    servers.push(server);
    const scorecar = await startScorecar([url]);
    procs.push(scorecar);
    for (let r = 0; r < 3; r++) {
      const via = await postJson(scorecar.url, '/v1/score', bodies.ids);
      expect(via.status).toBe(200);
      expect(via.headers['x-scorecar-cache-hits']).toBe(r === 0 ? '0' : '9');
      expect((JSON.parse(via.text) as ScoreReply).usage).toBeNull();
    }
  });
});
