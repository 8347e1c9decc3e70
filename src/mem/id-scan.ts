import { readFileSync } from 'node:fs';
import { wasm } from './wasm-api.js';
import { copyBytes } from './copy-bytes.js';

/**
 * Canonical JSON id lists (digits and single commas, each comma followed by a space at most, as
 * clients' encoders write them: JSON.stringify, Python's json.dumps) read by a
 * small WebAssembly loop (id-scan.wat, assembled to id-scan.wasm; test/mem/id-scan.test.ts checks
 * the two agree). After node:http and the kernel, the byte scanner was the largest cost of the
 * ids path in bench:floor's profile (18.6% of samples); the same loop in JavaScript pays a
 * bounds check per byte that WebAssembly's guarded memory does not (bench/results/scanner.md).
 *
 * The body is copied into the module's memory a window at a time (WINDOW bytes, one copy per
 * request for bodies under it), so the memory stays bounded whatever the body's size. A list
 * that runs past its window is read again from a window that starts at it, and one longer than
 * a window is left to the caller's JavaScript path.
 */
const WINDOW = 65536 - 16;
const OUT = 65536;

const instance = new wasm.Instance(new wasm.Module(readFileSync(new URL('./id-scan.wasm', import.meta.url))), {});
const exports = instance.exports as { memory: { buffer: ArrayBuffer }; scan: (p: number) => number };
const scan = exports.scan;
const mem = Buffer.from(exports.memory.buffer);
/** [count, max] of the last list read, where id-scan.wat stores them. */
const stats = new Int32Array(exports.memory.buffer, 65528, 2);
/** The ids of the last list read: [0, idScan.count). */
export const idScanOut = new Int32Array(exports.memory.buffer, OUT, (WINDOW >>> 1) + 1);
/** count and max of the last list read; loads counts window copies (tests bound it). */
export const idScan = { count: 0, max: -1, loads: 0 };

let winBody: Uint8Array | null = null;
let winStart = 0;
let winEnd = 0;
let winReachesEnd = false;

/** A new body is about to be scanned (pooled body buffers are reused: forget the window). */
export function idScanReset(): void {
  winBody = null;
}

/**
 * Reads the canonical list whose first byte is b[p] (just past '['), within b[0, end). Returns the
 * index past ']' with idScan and idScanOut filled, or -1: not canonical, or longer than a window.
 */
export function idScanList(b: Buffer, p: number, end: number): number {
  if (winBody !== b || p < winStart || p >= winEnd) load(b, p, end);
  let q = scan(p - winStart);
  // Refused at the window's end (not at a space or other non-canonical byte, which a Python
  // client's `, ` puts in every list): the list may run past the window, so it is read again
  // from a window that starts at it. A list longer than a window pays that pass once, then
  // goes to the JavaScript reader.
  if (q < 0 && -1 - q === winEnd - winStart && !winReachesEnd && winStart !== p) {
    load(b, p, end);
    q = scan(0);
  }
  if (q < 0) return -1;
  idScan.count = stats[0] as number;
  idScan.max = stats[1] as number;
  return q + winStart;
}

function load(b: Buffer, p: number, end: number): void {
  const n = Math.max(0, Math.min(WINDOW, end - p));
  idScan.loads++;
  copyBytes(b, p, p + n, mem, 0);
  // Not a digit, comma or bracket: the loop stops here without a bounds check of its own.
  mem[n] = 0;
  winBody = b;
  winStart = p;
  winEnd = p + n;
  winReachesEnd = p + n === end;
}
