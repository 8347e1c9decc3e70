import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { HeapMeter } from '../../src/metrics/heap-meter.js';

/** HeapMeter against V8's own collections: bytes allocated, and full collections told apart from scavenges. */
describe('HeapMeter', () => {
  it('counts the bytes allocated between reads, scavenges, and a full collection as major', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const m = new HeapMeter();
    m.start();
    let keep = 0;
    // ~64 MB of short-lived arrays: several scavenges, no full collection needed.
    for (let i = 0; i < 200_000; i++) keep += new Array(40).fill(i).length;
    m.read();
    expect(keep).toBe(8_000_000);
    expect(m.allocatedBytes).toBeGreaterThan(32 * 1024 * 1024);
    // Scavenges, not full collections: told apart.
    expect(m.gcCount - m.majorCount).toBeGreaterThan(0);
    const major = m.majorCount;
    gc();
    m.read();
    expect(m.majorCount).toBe(major + 1);
    expect(m.majorSeconds).toBeGreaterThan(0);
    expect(m.majorSeconds).toBeLessThanOrEqual(m.gcSeconds);
    m.stop();
  });
});
