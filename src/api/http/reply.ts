import type { ServerResponse } from 'node:http';
import { errorEnvelopeJson } from '../../sglang/errors.js';

export function sendBody(res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json', extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': contentType, 'content-length': buf.length, ...extra });
  res.end(buf);
}

/** SGLang's flat error envelope. */
export function sendError(res: ServerResponse, status: number, message: string, type: string, extra?: Record<string, string>): void {
  sendBody(res, status, errorEnvelopeJson(message, type, status), 'application/json', extra);
}
