import type { IncomingMessage } from 'node:http';
import { bufferPool } from '../../mem/buffer-pool.js';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes (scorecar --max-body-bytes)`);
  }
}

/**
 * Reads a request body into one pooled buffer (sized from content-length when given), so a
 * 40 KB token-id body costs one copy and no concatenation. The caller releases the buffer.
 */
export function readPooledBody(req: IncomingMessage, limit: number): Promise<{ buf: Buffer; length: number }> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let buf = bufferPool.acquire(Number.isFinite(declared) && declared > 0 ? declared : 16384);
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
    req.on('error', (e) => {
      if (failed) return;
      failed = true;
      bufferPool.release(buf);
      reject(e);
    });
  });
}
