import { ByteWriter } from './byte-writer.js';

/**
 * Token ids spelled as a backend body spells them ("1,2,3", no brackets), kept beside id arrays
 * that live long (token-cache entries), so that writing a warm text request's backend body is a
 * copy rather than a print: printing was 9% of scorecar's CPU on the warm text path
 * (bench:hotpath's text-warm body under wrk, --cpu-prof). Keyed by the array itself and weakly,
 * so the spelling goes when its ids do; an id array is never written to once spelled.
 */
const spellings = new WeakMap<Int32Array, Buffer>();
const writer = new ByteWriter(4096);

/** Spells `ids` once and remembers it; returns the spelling's byte length. */
export function spellIds(ids: Int32Array): number {
  writer.rearm(4096);
  writer.ints(ids, 0, ids.length);
  // A buffer of its own: a long-lived spelling in Node's shared pool would pin its neighbours' slab.
  const own = Buffer.allocUnsafeSlow(writer.pos);
  writer.buf.copy(own, 0, 0, writer.pos);
  if (writer.buf.length > 1 << 16) writer.release();
  spellings.set(ids, own);
  return own.length;
}

/** The remembered spelling of the whole of `ids`, if any. */
export function spelledIds(ids: Int32Array): Buffer | undefined {
  return spellings.get(ids);
}
