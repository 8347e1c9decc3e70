import type { Socket } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { nodeBinding } from './node-binding.js';

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
 * to order when nothing is buffered in it. One step further down, where node's stream binding is at
 * hand, the write goes to the socket's handle itself (handleWrite below), as `_writeGeneric` would
 * send it, without a request object per write.
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
 * - An idle timeout set with socket.setTimeout() does not see a direct write's progress (node holds
 *   it back while libuv's queue shrinks): scorecar's sockets keep their own timers. TLS sockets
 *   always take socket.write().
 */
export function writeTo(socket: Socket, data: Uint8Array, written: (err?: Error | null) => void): boolean {
  const s = socket as unknown as DirectWritable;
  // TLS: a direct write while one is pending trips a C++ assertion in TLSWrap (it takes one write at a time).
  if (typeof s._writeGeneric !== 'function' || socket.writableLength !== 0 || socket.connecting || !socket.writable || s.encrypted === true) {
    return socket.write(data, written);
  }
  const h = s._handle;
  if (direct !== null && h !== null && h.writeBuffer !== undefined) return handleWrite(s, h as WritableHandle, data, written);
  s._writeGeneric(false, data, 'buffer', written);
  // What libuv still holds of it (and of earlier direct writes): none when the kernel took it all.
  return h === null || h.writeQueueSize === 0;
}

/**
 * The handle-level write: `_writeGeneric` made a WriteWrap request object per write (~230 B of
 * heap with its six properties; two writes per /v1/score request were a quarter of what one
 * allocated, sampling heap profile at gc-free load). The request object only matters to node's C++
 * when the write goes async (libuv keeps bytes the kernel did not take): a write the kernel takes
 * at once never touches it (StreamBase::Write returns before CreateWriteWrap, Node 20.20's
 * stream_base.cc), so one object serves every such write. An async write's object is attached to
 * a C++ WriteWrap until its completion has run, and a C++ CHECK forbids attaching it again before
 * that (StreamReq::AttachToObject), so it is left to the GC afterwards rather than reused: those
 * writes are the rare ones (a client not reading).
 */
function handleWrite(s: DirectWritable, h: WritableHandle, data: Uint8Array, written: (err?: Error | null) => void): boolean {
  const d = direct as Direct;
  s._unrefTimer?.();
  const req = d.spare;
  const err = h.writeBuffer(req, data);
  if (err !== 0) {
    // Not a number: the handle's native side is gone and nothing was written; node's own write reports that.
    if (typeof err !== 'number') return s.write(data, written);
    written(errnoError(err));
    return true;
  }
  if (d.state[d.asyncSlot] === 0) {
    written(null);
    return h.writeQueueSize === 0;
  }
  // C++ now holds this object until its oncomplete runs: the next write takes a fresh one. It
  // holds only a pointer to the bytes, so the object keeps them alive meanwhile, as node's does.
  req.callback = written;
  req.socket = s as unknown as Socket;
  req.buffer = data;
  d.spare = newRequest(d);
  return false;
}

function errnoError(status: number): Error {
  const code = getSystemErrorName(status);
  return Object.assign(new Error(`write ${code}`), { errno: status, code, syscall: 'write' });
}

/** An async write's completion (this: its request object), as node's onWriteComplete reports it. */
function onWriteComplete(this: WriteRequest, status: number): void {
  const cb = this.callback;
  const socket = this.socket;
  this.callback = null;
  this.socket = null;
  this.buffer = null;
  if (cb === null) return;
  // As node's completion does: the bytes moved, so the socket's idle timer starts again.
  (socket as unknown as DirectWritable | null)?._unrefTimer?.();
  // A destroy cancels pending writes; node reports those as done, not as errors.
  if (status < 0 && socket !== null && !socket.destroyed) cb(errnoError(status));
  else cb(null);
}

interface WriteRequest {
  oncomplete: (status: number) => void;
  callback: ((err?: Error | null) => void) | null;
  socket: Socket | null;
  buffer: Uint8Array | null;
}

interface Direct {
  WriteWrap: new () => WriteRequest;
  state: Int32Array;
  asyncSlot: number;
  spare: WriteRequest;
}

function newRequest(d: Pick<Direct, 'WriteWrap'>): WriteRequest {
  const req = new d.WriteWrap();
  req.oncomplete = onWriteComplete;
  req.callback = null;
  req.socket = null;
  req.buffer = null;
  return req;
}

/**
 * node's stream binding, read once: its WriteWrap constructor and the state array its writes
 * report through (process.binding('stream_wrap') is on node's allow list through Node 24;
 * null where it is not, and writes take `_writeGeneric`).
 */
const direct: Direct | null = (() => {
  const b = nodeBinding<StreamWrapBinding>('stream_wrap');
  if (b === null || typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return null;
  try {
    const d = { WriteWrap: b.WriteWrap, state: b.streamBaseState, asyncSlot: b.kLastWriteWasAsync };
    return { ...d, spare: newRequest(d) };
  } catch {
    return null;
  }
})();

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

interface StreamHandle {
  writeQueueSize: number;
  writeBuffer?: (req: WriteRequest, data: Uint8Array) => number;
}

type WritableHandle = StreamHandle & Required<Pick<StreamHandle, 'writeBuffer'>>;

/** What writeTo() uses of a net.Socket beyond its public types (net.js's own `_onTimeout` reads the same). */
interface DirectWritable {
  _writeGeneric?: (writev: boolean, data: Uint8Array, encoding: string, cb: (err?: Error | null) => void) => void;
  _unrefTimer?: () => void;
  _handle: StreamHandle | null;
  encrypted?: boolean;
  write(data: Uint8Array, cb: (err?: Error | null) => void): boolean;
}

/** Whether writes go to the handle with one reused request object (node's stream binding was found). */
export const handleWrites = direct !== null;
