import type { IncomingMessage, ServerResponse } from 'node:http';

/** Small HTTP helpers for the emulator, which favours clarity over the sidecar's pooling. */

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge(`body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json'): Buffer {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  if (res.writableEnded || res.destroyed) return buf;
  res.writeHead(status, { 'content-type': contentType, 'content-length': buf.length });
  res.end(buf);
  return buf;
}

export function sendEmpty(res: ServerResponse, status: number): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}
