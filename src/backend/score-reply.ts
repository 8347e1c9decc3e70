import {
  COLON,
  COMMA,
  LBRACE,
  LBRACKET,
  QUOTE,
  RBRACE,
  RBRACKET,
  bytesEqual,
  intOut,
  scanInt32,
  scanNull,
  scanNumber,
  scanString,
  skipValue,
  skipWs,
} from '../mem/json-bytes.js';
import type { ScoreBatchView as Batch } from './score-batch.js';
import { BadGateway } from './errors.js';

const K_SCORES = Buffer.from('scores');
const K_USAGE = Buffer.from('usage');
const K_PROMPT_TOKENS = Buffer.from('prompt_tokens');

/** Skips one score row ([num|null, ...] with exactly `labels` entries); returns the index past it. */
function scanRow(b: Buffer, p: number, end: number, labels: number): number {
  if (b[p] !== LBRACKET) return -1;
  p = skipWs(b, p + 1, end);
  if (b[p] === RBRACKET) return labels === 0 ? p + 1 : -1;
  let count = 0;
  for (;;) {
    p = b[p] === 0x6e ? scanNull(b, p, end) : scanNumber(b, p, end);
    if (p < 0) return -1;
    count++;
    p = skipWs(b, p, end);
    if (b[p] === COMMA) p = skipWs(b, p + 1, end);
    else if (b[p] === RBRACKET) return count === labels ? p + 1 : -1;
    else return -1;
  }
}

/**
 * Reads a backend's /v1/score reply for a batch without parsing numbers: each row's byte span is
 * recorded on the job and item it belongs to, so the client response copies SGLang's own digits.
 * Returns the usage's prompt_tokens (-1 when the server reports none: usage null or absent). Throws BadGateway on
 * anything that is not SGLang's shape.
 */
export function readScoreReply(b: Buffer, end: number, batch: Batch): number {
  const labels = batch.lead().nLabels;
  let seg = 0;
  let k = batch.count > 0 ? (batch.from[0] as number) : 0;
  let p = skipWs(b, 0, end);
  let rows = -1;
  let promptTokens = -1;
  if (b[p] !== LBRACE) throw new BadGateway('backend score reply is not a JSON object');
  p = skipWs(b, p + 1, end);
  while (b[p] !== RBRACE) {
    if (b[p] !== QUOTE) throw new BadGateway('malformed backend score reply');
    const ks = p + 1;
    const ke = scanString(b, p, end);
    if (ke < 0) throw new BadGateway('malformed backend score reply');
    p = skipWs(b, ke, end);
    if (b[p] !== COLON) throw new BadGateway('malformed backend score reply');
    p = skipWs(b, p + 1, end);
    if (bytesEqual(b, ks, ke - 1, K_SCORES)) {
      if (b[p] !== LBRACKET) throw new BadGateway('backend scores is not a list');
      p = skipWs(b, p + 1, end);
      rows = 0;
      if (b[p] === RBRACKET) p++;
      else {
        for (;;) {
          while (seg < batch.count && k >= (batch.to[seg] as number)) {
            seg++;
            if (seg < batch.count) k = batch.from[seg] as number;
          }
          const s = p;
          p = scanRow(b, p, end, labels);
          if (p < 0 || seg >= batch.count) throw new BadGateway('backend score rows do not match the request');
          const job = batch.jobs[seg]!;
          const i = job.active[k] as number;
          job.rowBuf[i] = b;
          job.rowStart[i] = s;
          job.rowEnd[i] = p;
          k++;
          rows++;
          p = skipWs(b, p, end);
          if (b[p] === COMMA) p = skipWs(b, p + 1, end);
          else if (b[p] === RBRACKET) {
            p++;
            break;
          } else throw new BadGateway('malformed backend scores');
        }
      }
    } else if (bytesEqual(b, ks, ke - 1, K_USAGE) && b[p] === LBRACE) {
      p = skipWs(b, p + 1, end);
      while (b[p] !== RBRACE) {
        const us = p + 1;
        const ue = scanString(b, p, end);
        if (ue < 0) throw new BadGateway('malformed backend usage');
        p = skipWs(b, ue, end);
        if (b[p] !== COLON) throw new BadGateway('malformed backend usage');
        p = skipWs(b, p + 1, end);
        if (bytesEqual(b, us, ue - 1, K_PROMPT_TOKENS) && scanInt32(b, p, end) > 0 && intOut.value >= 0) {
          promptTokens = intOut.value;
        }
        p = skipValue(b, p, end);
        if (p < 0) throw new BadGateway('malformed backend usage');
        p = skipWs(b, p, end);
        if (b[p] === COMMA) p = skipWs(b, p + 1, end);
        else if (b[p] !== RBRACE) throw new BadGateway('malformed backend usage');
      }
      p++;
    } else {
      p = skipValue(b, p, end);
      if (p < 0) throw new BadGateway('malformed backend score reply');
    }
    p = skipWs(b, p, end);
    if (b[p] === COMMA) p = skipWs(b, p + 1, end);
    else if (b[p] !== RBRACE) throw new BadGateway('malformed backend score reply');
  }
  if (skipWs(b, p + 1, end) !== end) throw new BadGateway('trailing bytes after backend score reply');
  if (rows !== batch.items) throw new BadGateway(`backend returned ${rows} score rows for ${batch.items} items`);
  return promptTokens;
}
