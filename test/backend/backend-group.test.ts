import { afterAll, describe, expect, it } from 'vitest';
import { BackendGroup, groupKey } from '../../src/backend/backend-group.js';
import { BackendSet } from '../../src/backend/backend-set.js';
import type { BackendInfo } from '../../src/backend/server-info.js';
import { SglangBackend } from '../../src/backend/sglang-backend.js';
import { backendInfo } from '../support/backend-info.js';


const made: SglangBackend[] = [];
let port = 1;
function backend(i: BackendInfo, outstanding = 0): SglangBackend {
  const b = new SglangBackend({ url: `http://127.0.0.1:${port++}`, apiKey: null, connections: 1, callTimeoutMs: 1000, healthTimeoutMs: 1000, outlier: { consecutiveFailures: 1, baseEjectionMs: 1000 } });
  b.info = i;
  b.healthy = true;
  b.tokenizer = 'match';
  b.outstandingTokens = outstanding;
  made.push(b);
  return b;
}
afterAll(async () => {
  await Promise.all(made.map((b) => b.close()));
});
const noTokenize = (): Promise<Int32Array> => Promise.resolve(new Int32Array(0));

describe('backend group', () => {
  it('power of two choices on outstanding tokens: the least loaded of two is never passed over for a busier one', () => {
    const g = new BackendGroup(backendInfo(), 0);
    const idle = backend(backendInfo(), 0);
    const busy = backend(backendInfo(), 5000);
    g.members.push(busy, idle);
    for (let i = 0; i < 50; i++) expect(g.pick(0)).toBe(idle);
    // With three, the busiest is never picked (it loses every pair it is in).
    const mid = backend(backendInfo(), 100);
    g.members.push(mid);
    const seen = new Set<SglangBackend>();
    for (let i = 0; i < 200; i++) seen.add(g.pick(0) as SglangBackend);
    expect(seen.has(busy)).toBe(false);
    expect(seen.has(idle)).toBe(true);
  });

  it('skips ejected, unhealthy, draining and already-tried members', () => {
    const g = new BackendGroup(backendInfo(), 0);
    const [a, b, c, d] = [backend(backendInfo()), backend(backendInfo()), backend(backendInfo()), backend(backendInfo())];
    g.members.push(a, b, c, d);
    a.outlier.onFailure(false, 0); // ejected until 1000
    b.healthy = false;
    c.draining = true;
    expect(g.pick(0)).toBe(d);
    expect(g.pick(0, [d])).toBe(null);
    expect(g.available(0)).toBe(true);
    expect(g.pick(1000)).not.toBe(null); // a's ejection is over: half-open
  });

  it('keys identity by model, weights and emulator', () => {
    expect(groupKey(backendInfo())).toBe(groupKey(backendInfo()));
    expect(groupKey(backendInfo())).not.toBe(groupKey(backendInfo({ weightVersion: 'v2' })));
    expect(groupKey(backendInfo())).not.toBe(groupKey(backendInfo({ emulator: true })));
  });
});

describe('routing between groups', () => {
  it('a named model goes to its group (newest weights first); others to the default group; the emulator only when named or alone', () => {
    const old1 = backend(backendInfo({ weightVersion: 'v1' }));
    const old2 = backend(backendInfo({ weightVersion: 'v1' }));
    const set = new BackendSet([old1, old2], 1000, noTokenize);
    const fresh = backend(backendInfo({ weightVersion: 'v2' }));
    const emu = backend(backendInfo({ emulator: true, modelPath: 'scorecar/emulated', servedModelName: 'emu' }));
    // Added later (as discovery would): groups are seen in this order.
    set.backends.push(fresh, emu);
    (set as unknown as { regroup(): void }).regroup();
    expect(set.route('Qwen/Qwen3-0.6B')?.info.weightVersion).toBe('v2');
    // No name: the default group, the one serving the most backends.
    expect(set.route(null)?.info.weightVersion).toBe('v1');
    expect(set.route('some-other-model')?.info.weightVersion).toBe('v1');
    expect(set.route('emu')?.info.emulator).toBe(true);
    expect(set.route('scorecar/emulated')?.info.emulator).toBe(true);
    // Every v2 backend ejected: a request naming the model goes to the v1 group that can serve.
    fresh.outlier.onFailure(false, performance.now());
    expect(set.route('Qwen/Qwen3-0.6B')?.info.weightVersion).toBe('v1');
    // Nothing real left: the emulator serves alone.
    for (const b of [old1, old2, fresh]) b.healthy = false;
    expect(set.route(null)?.info.emulator).toBe(true);
    emu.healthy = false;
    expect(set.route(null)).toBe(null);
  });
});

describe('hedge delay', () => {
  it("is the p95 of the members' good calls pooled, unknown before 20", () => {
    const g = new BackendGroup(backendInfo(), 0);
    const a = backend(backendInfo());
    const b = backend(backendInfo());
    g.members.push(a, b);
    for (let i = 0; i < 9; i++) a.latency.observe(1);
    expect(Number.isNaN(g.p95Ms(0))).toBe(true);
    for (let i = 0; i < 90; i++) a.latency.observe(1);
    for (let i = 0; i < 10; i++) b.latency.observe(100); // a slow member: 10 of 109 calls
    expect(g.p95Ms(1000)).toBe(100);
    for (let i = 0; i < 200; i++) a.latency.observe(1);
    expect(g.p95Ms(1050)).toBe(100); // cached for 100 ms
    expect(g.p95Ms(1200)).toBe(1); // 10 of 266: under 5%
  });
});
