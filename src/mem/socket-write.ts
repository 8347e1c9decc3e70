import type { Socket } from 'node:net';

/**
 * A socket write that skips node's Writable bookkeeping when it has nothing to keep.
 *
 * Why: on Node 20 every `socket.write()` that completes at once still goes through Writable's
 * state, and its callback is deferred with `process.nextTick`; every tick drain then runs
 * `processPromiseRejections`, which makes a new SafeMap whether or not a rejection is pending. With
 * the hot path's two writes per request (the backend call, the client's answer) that was ~1.4 KB
 * of the ~3.9 KB of heap a /v1/score request allocated (sampling heap profile, gc-free load), more
 * than any part of scorecar's own. net.Socket's `_writeGeneric` is the step Writable ends in (it
 * writes to the handle, and calls back at once when the kernel took the bytes, or when libuv has
 * written them later); calling it directly leaves out only the Writable state, which has nothing
 * to order when nothing is buffered in it.
 *
 * So the direct write is taken only while the Writable holds nothing (writableLength 0), the
 * socket is connected and open for writing; otherwise, or when node lacks `_writeGeneric` (read
 * against Node 20.20's net.js and stream_base_commons.js), it is an ordinary `socket.write()`.
 * Either way libuv keeps the writes in order, and end() (a shutdown after the queued writes) and
 * destroy() (pending writes cancelled, their callbacks run) keep working.
 *
 * Differences the callers take on:
 * - `written` may run before writeTo() returns (the bytes went at once), and runs exactly once:
 *   with null when the socket is done with the bytes (written, or cancelled by a destroy), or with
 *   the write's error, after which the caller destroys the socket (Writable would have).
 * - The return value is true only when the socket holds none of the bytes any more (or, on the
 *   Writable path, when it is under its high-water mark): false means wait for `written` before
 *   writing or reading more, which a direct write reports instead of a 'drain' event.
 * - The bytes must stay unchanged until `written` runs.
 */
export function writeTo(socket: Socket, data: Uint8Array, written: (err?: Error | null) => void): boolean {
  const s = socket as unknown as DirectWritable;
  if (typeof s._writeGeneric !== 'function' || socket.writableLength !== 0 || socket.connecting || !socket.writable) {
    return socket.write(data, written);
  }
  s._writeGeneric(false, data, 'buffer', written);
  // What libuv still holds of it (and of earlier direct writes): none when the kernel took it all.
  const h = s._handle;
  return h === null || h.writeQueueSize === 0;
}

/** What writeTo() uses of a net.Socket beyond its public types (net.js's own `_onTimeout` reads the same). */
interface DirectWritable {
  _writeGeneric?: (writev: boolean, data: Uint8Array, encoding: string, cb: (err?: Error | null) => void) => void;
  _handle: { writeQueueSize: number } | null;
}
