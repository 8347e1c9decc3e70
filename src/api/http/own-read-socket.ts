import { type Server, Socket } from 'node:net';

/**
 * A socket that a net server accepted, remade to read into one buffer of scorecar's instead of a
 * new one per read.
 *
 * Why: node gives each read of a stream socket an ArrayBuffer of its own (outside the JS heap) and a
 * Buffer over it, and pushes it through Readable. At the gc-free test's load that was ~0.6 KB of
 * heap per request and ~8 MB of ArrayBuffers between collections, which made V8 run a full
 * mark-compact (2-9 ms) about once per 1,000 requests where a scavenge would have freed them: most
 * of the GC time per item the design bounds. node's `onread` option (one reused buffer, a callback
 * per read) is what H1Pool uses for its backend sockets, but node offers it only to sockets one
 * constructs, not to those a server accepts. So the accepted socket's handle is given to a new
 * `net.Socket` constructed with `onread`, as node's own accept path constructs one around it; the
 * accepted socket object is left without a handle, and the new one carries the server's connection
 * count (server.close() waits on it) in its place.
 *
 * This reads `_handle`, `server` and `_server`, node internals that node's own cluster and
 * child_process code rely on (read against Node 20.20's source; the image's Node 24 is not measured
 * here). When they are not there (a stream that is not a TCP socket), adopt() returns null and the
 * caller reads the accepted socket as it is.
 */

/** What adopt() reads and moves: net.Socket fields that are not in its public types. */
interface SocketInternals {
  _handle: object | null;
  _server: Server | null;
  server: Server | null;
}

/** The one buffer every adopted socket reads into; each read is handed to its callback at once and not kept. */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A new socket over `accepted`'s handle that reads into `buffer` and hands each read to
 * `onRead(bytes, buffer)`, which must copy what it keeps before it returns, and returns false to
 * stop reading until the socket is resumed or read. End of stream, errors, writes, pause() and
 * resume() behave as on any net.Socket. Null when `accepted` has no handle to move; it is then
 * untouched.
 */
export function adopt(accepted: Socket, buffer: Buffer, onRead: (bytes: number, buffer: Buffer) => boolean): Socket | null {
  const old = accepted as unknown as SocketInternals;
  const handle = old._handle;
  if (handle === null || typeof handle !== 'object' || accepted.destroyed || !accepted.readable) return null;
  const server = old._server;
  const own = new Socket({
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    readable: true,
    writable: true,
    onread: { buffer, callback: onRead },
  } as ConstructorParameters<typeof Socket>[0]);
  // The accepted object never reads or closes again; the new one is the connection node counts.
  // Whoever else was handed the accepted object (a later 'connection' listener, the
  // net.server.socket diagnostics channel) holds an inert shell: scorecar adds neither.
  old._handle = null;
  old._server = null;
  old.server = null;
  const mine = own as unknown as SocketInternals;
  mine._server = server;
  mine.server = server;
  return own;
}
