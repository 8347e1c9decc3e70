import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Timing } from '../timing-headers.js';

/**
 * What the scoring routes read of a request: node's IncomingMessage satisfies it, and so does the
 * H1 front's own exchange (h1-front.ts), which serves POST /v1/score without node:http.
 */
export interface HttpRequestView {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** What the scoring routes write: a subset of node's ServerResponse, which the H1 front's exchange also implements. */
export interface HttpReply {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly statusCode: number;
  setHeader(name: string, value: string | number): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  /** `written` runs once the bytes are the socket's (or the response is gone). */
  end(body: Buffer, written?: () => void): unknown;
  /**
   * A 200 JSON answer, body[0, length), with x-request-id and the timing headers, written by a
   * reply that can put them into its head as bytes (scorecar's own HTTP/1.1 front); absent on
   * node:http's. The body is copied at once: `written` may give its buffer back.
   */
  endTimed?(body: Buffer, length: number, written: () => void, requestId: string, timing: Timing): unknown;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}
