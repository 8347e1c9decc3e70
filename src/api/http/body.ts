import type { IncomingMessage } from 'node:http';
import { bufferPool } from '../../mem/buffer-pool.js';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes (scorecar --max-body-bytes)`);
  }
}

/** The most a body buffer is sized from Content-Length before any byte has arrived. */
const FIRST_BUFFER_MAX = 64 * 1024;

/**
 * Reads a request body into one pooled buffer, so a 40 KB token-id body costs one copy and no
 * concatenation. A declared Content-Length over the limit is refused before anything is read;
 * otherwise it only sizes the first buffer up to 64 KiB, and the buffer grows (doubling) with
 * the bytes that really arrive: a client that declares 60 MB and sends 10 costs 64 KiB. The
 * caller releases the buffer.
 */
export function readPooledBody(req: IncomingMessage, limit: number): Promise<{ buf: Buffer; length: number }> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let buf = bufferPool.acquire(Number.isFinite(declared) && declared > 0 ? Math.min(declared, FIRST_BUFFER_MAX) : 16384);
    let length = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (length + chunk.length > limit) {
        failed = true;
        bufferPool.release(buf);
        reject(new BodyTooLarge(limit));
        return;
      }
      if (length + chunk.length > buf.length) {
        const next = bufferPool.acquire(Math.max(buf.length * 2, length + chunk.length));
        buf.copy(next, 0, 0, length);
        bufferPool.release(buf);
        buf = next;
      }
      chunk.copy(buf, length);
      length += chunk.length;
    });
    req.on('end', () => {
      if (!failed) resolve({ buf, length });
    });
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      bufferPool.release(buf);
      reject(e);
    };
    req.on('error', fail);
    // A client that goes (or is cut off by the request timeout) before the end: nothing to answer.
    req.on('close', () => {
      if (!req.complete) fail(new Error('the client closed the connection before the body ended'));
    });
  });
}
