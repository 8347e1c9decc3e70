import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * One full collection once scorecar has started, before it serves.
 *
 * Why: start-up (modules, the tokenizer's files, discovery) leaves ~20 MB of garbage in the old
 * generation, and V8's first limits on it come from that inflated heap. Under --trace-gc the
 * sidecar's steady state promotes almost nothing (old generation +0.2 MB over 30 s at ~14k
 * requests/s), but a full collection still landed ~20 s after start, taking the start-up garbage
 * out (old generation 44.7 -> 22.9 MB, a 10-20 ms pause) under the first traffic. Taken here, that
 * pause comes before any request. node has no public call for it: `--expose-gc` is set only while
 * a throwaway context fetches V8's gc function (the way node's own tests reach it), so no global
 * `gc` is left for other code to find.
 */
export function collectStartupGarbage(): boolean {
  // Started with --expose-gc: its global gc is there, and the flag stays as it was given.
  let gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc');
    } catch {
      gc = undefined;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') return false;
  (gc as () => void)();
  return true;
}
