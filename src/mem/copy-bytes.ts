import { nodeBinding } from './node-binding.js';

/**
 * copyBytes(): src[srcStart, srcEnd) into dst at dstStart, without a heap object per call.
 *
 * Why not Buffer#copy: on Node 20, a copy of part of its source makes a Uint8Array view of that
 * part first (buffer.js `_copyActual`), ~96 B of heap per call; the hot path copies parts of
 * buffers several times per request (the body out of the front's read buffer, spans into the
 * backend body and the answer, ids into WebAssembly memory), ~380 B of a /v1/score request's
 * ~1.45 KB (sampling heap profile at gc-free load). node's buffer binding has the same copy taking
 * the span as numbers: no view. It is reached through process.binding('buffer') (on node's allow
 * list through Node 24; src/mem/node-binding.ts), and its arguments' meaning is not public: on Node 20 the fifth is the
 * source's end, on later lines a byte count with no bounds check of its own. So a probe at load
 * tells which one this node has, every call's bounds are checked here first, and where the probe
 * finds neither (or no binding) the copy is Buffer#copy.
 */
export function copyBytes(src: Uint8Array, srcStart: number, srcEnd: number, dst: Uint8Array, dstStart: number): number {
  const n = srcEnd - srcStart;
  // Whole numbers (>>> 0 leaves those under 2^32 as they are), in order, inside both buffers: the
  // binding on later node lines checks none of it.
  if (!((srcStart >>> 0) === srcStart && (srcEnd >>> 0) === srcEnd && (dstStart >>> 0) === dstStart && n >= 0 && srcEnd <= src.length && dstStart + n <= dst.length)) {
    throw new RangeError(`copyBytes: [${srcStart}, ${srcEnd}) of ${src.length} bytes to ${dstStart} of ${dst.length}`);
  }
  if (n === 0) return 0;
  // Within one buffer the spans may overlap: Buffer#copy moves those as TypedArray#set does.
  if (mode === PUBLIC || src.buffer === dst.buffer) Buffer.prototype.copy.call(src, dst, dstStart, srcStart, srcEnd);
  else native(src, dst, dstStart, srcStart, mode === END ? srcEnd : n);
  return n;
}

type NativeCopy = (src: Uint8Array, dst: Uint8Array, dstStart: number, srcStart: number, last: number) => number;

const END = 1;
const COUNT = 2;
const PUBLIC = 0;

let native: NativeCopy = () => 0;

/** Which meaning the binding's fifth argument has here, read from one copy whose outcome differs. */
const mode: number = (() => {
  try {
    const b = nodeBinding<{ copy: unknown }>('buffer');
    if (b === null || typeof b.copy !== 'function') return PUBLIC;
    const copy = b.copy as NativeCopy;
    const src = Buffer.from('abcdefghij');
    const dst = Buffer.alloc(10, 0x2e);
    // As a source end: 'ef' at 1. As a count: 'efghij' at 1. Both in bounds either way.
    copy(src, dst, 1, 4, 6);
    if (src.toString() !== 'abcdefghij') return PUBLIC;
    const got = dst.toString();
    native = copy;
    if (got === '.ef.......') return END;
    if (got === '.efghij...') return COUNT;
    return PUBLIC;
  } catch {
    return PUBLIC;
  }
})();

/** How copyBytes copies on this node: 'binding' (no view per call) or 'Buffer#copy'. */
export const copyPath: 'binding' | 'Buffer#copy' = mode === PUBLIC ? 'Buffer#copy' : 'binding';
