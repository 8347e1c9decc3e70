import type { HttpReply } from './exchange.js';
import { errorEnvelopeJson } from '../../sglang/errors.js';

/**
 * Writes a whole response. Returns false when nothing was written (headers already sent or the
 * socket gone). `written`, when given, runs once the socket is done with `body` (written, or
 * the response closed first): a caller that lends a pooled buffer takes it back there, never
 * sooner, since Node keeps a reference to the bytes until the socket has written them.
 */
export function sendBody(
  res: HttpReply,
  status: number,
  body: string | Buffer,
  contentType = 'application/json',
  extra?: Record<string, string>,
  written?: () => void,
): boolean {
  if (res.headersSent || res.destroyed) return false;
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': contentType, 'content-length': buf.length, ...extra });
  if (written === undefined) {
    res.end(buf);
    return true;
  }
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    res.off('close', once);
    written();
  };
  // 'close' also covers a socket destroyed before the write finished (end's callback then may never run).
  res.once('close', once);
  res.end(buf, once);
  return true;
}

/** SGLang's flat error envelope. */
export function sendError(res: HttpReply, status: number, message: string, type: string, extra?: Record<string, string>): void {
  sendBody(res, status, errorEnvelopeJson(message, type, status), 'application/json', extra);
}
