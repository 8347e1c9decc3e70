import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningEmulator } from '../../../src/emulator/server.js';
import type { RunningSidecar } from '../../../src/sidecar.js';
import { describeRealSglang } from '../../support/real-sglang.js';
import { emulator, score, scoreCalls, sidecar } from '../fleet-harness.js';
import { NO, YES, ids } from './common.js';

/**
 * The real CPU SGLang and the emulator behind one scorecar: two identity groups that never mix.
 * A request naming the real model, or naming none, goes to SGLang; one naming the emulator's
 * model goes to the emulator. The answers through scorecar are SGLang's own. A dozen requests
 * in all: the server is a small shared CPU one.
 */
const EMULATED = 'scorecar/emulated-fleet-model';

describeRealSglang('fleet: the real SGLang and the emulator are separate groups', (url) => {
  let emu: RunningEmulator;
  let sc: RunningSidecar;
  let realModel = '';

  beforeAll(async () => {
    emu = await emulator({ modelPath: EMULATED, servedModelName: EMULATED });
    sc = await sidecar(['--backend', url, '--backend', emu.url]);
    const real = sc.backends.backends.find((b) => b.url === url);
    realModel = real?.info?.modelPath ?? '';
  });
  afterAll(async () => {
    await sc?.close();
    await emu?.close();
  });

  const body = (seed: number, model?: string): string =>
    JSON.stringify({ query: ids(8, seed), items: [ids(4, seed + 1), ids(5, seed + 2)], label_token_ids: [YES, NO], apply_softmax: true, ...(model ? { model } : {}) });

  it('forms one real group and one emulator group', () => {
    const groups = [...sc.backends.groups()];
    expect(groups.map((g) => g.info.emulator).sort()).toEqual([false, true]);
    expect(realModel).not.toBe('');
    expect(realModel).not.toBe(EMULATED);
  });

  it('a request naming the real model, or none, is scored by SGLang, never by the emulator', async () => {
    const before = scoreCalls(emu);
    for (let i = 0; i < 3; i++) {
      const b = body(10 + i, i === 0 ? undefined : realModel);
      const via = await score(sc.url, b);
      expect(via.status, via.text).toBe(200);
      const direct = await score(url, b);
      const v = JSON.parse(via.text) as { scores: number[][] };
      const d = JSON.parse(direct.text) as { scores: number[][] };
      // SGLang's radix cache makes a repeat differ by ~1e-6 relative (see score.test.ts).
      for (let r = 0; r < d.scores.length; r++) {
        for (let k = 0; k < (d.scores[r] as number[]).length; k++) expect(v.scores[r]![k]).toBeCloseTo(d.scores[r]![k] as number, 4);
      }
    }
    expect(scoreCalls(emu)).toBe(before);
  });

  it('a request naming the emulated model is scored by the emulator only', async () => {
    const before = scoreCalls(emu);
    const realCalls = sc.backends.backends.find((b) => b.url === url)!.latency.count;
    for (let i = 0; i < 3; i++) expect((await score(sc.url, body(20 + i, EMULATED))).status).toBe(200);
    expect(scoreCalls(emu)).toBe(before + 3);
    expect(sc.backends.backends.find((b) => b.url === url)!.latency.count).toBe(realCalls);
  });
});
