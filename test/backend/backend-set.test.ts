import { afterAll, describe, expect, it } from 'vitest';
import { BackendSet } from '../../src/backend/backend-set.js';
import { type BackendInfo, sameIdentity } from '../../src/backend/server-info.js';
import { SglangBackend } from '../../src/backend/sglang-backend.js';
import { backendInfo } from '../support/backend-info.js';


const made: SglangBackend[] = [];
function backend(port: number, i: BackendInfo, inflight: number): SglangBackend {
  const b = new SglangBackend({ url: `http://127.0.0.1:${port}`, apiKey: null, connections: 1, callTimeoutMs: 1000, healthTimeoutMs: 1000 });
  b.info = i;
  b.healthy = true;
  b.inflight = inflight;
  made.push(b);
  return b;
}

afterAll(async () => {
  await Promise.all(made.map((b) => b.close()));
});

describe('backend set', () => {
  it('never mixes the emulator with real backends: a real one is picked, however busy', () => {
    const emu = backend(1, backendInfo({ emulator: true }), 0);
    const real = backend(2, backendInfo({}), 50);
    const set = new BackendSet([emu, real], 1000, () => Promise.resolve(new Int32Array(0)));
    expect(set.pick()).toBe(real);
    expect(new BackendSet([real, emu], 1000, () => Promise.resolve(new Int32Array(0))).pick()).toBe(real);
    real.healthy = false;
    expect(set.pick()).toBe(emu);
  });

  it('identity covers model, weights, mode and limits', () => {
    const a = backendInfo({});
    expect(sameIdentity(a, backendInfo({}))).toBe(true);
    expect(sameIdentity(a, backendInfo({ weightVersion: 'v2' }))).toBe(false);
    expect(sameIdentity(a, backendInfo({ modelPath: 'other' }))).toBe(false);
    expect(sameIdentity(a, backendInfo({ mode: 'mis', misFlavor: 'enable_mis' }))).toBe(false);
    expect(sameIdentity(a, backendInfo({ maxReqInputLen: 100 }))).toBe(false);
    expect(sameIdentity(a, backendInfo({ emulator: true }))).toBe(false);
  });
});
