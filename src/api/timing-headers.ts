import type { ScoreJob } from '../pipeline/score-job.js';

/**
 * The one writer of the x-scorecar-* figures, so that /v1/score, /rank, /v1/rerank, /v2/rerank and gRPC (as
 * trailing metadata) name and format them alike. It fills a caller's header object rather than
 * returning a new one: the /v1/score route builds its header object once per reply anyway.
 */
export function setTimingHeaders<H extends Record<string, string | number>>(
  h: H,
  job: ScoreJob,
  items: number,
  totalMs: number,
  cacheHits: number = job.cacheHits,
): H {
  const t = h as Record<string, string | number>;
  t['x-scorecar-items'] = String(items);
  t['x-scorecar-cache-hits'] = String(cacheHits);
  t['x-scorecar-tokenize-ms'] = ms(job.tokenizeMs);
  t['x-scorecar-queue-ms'] = ms(job.queueMs);
  t['x-scorecar-backend-ms'] = ms(job.backendMs);
  t['x-scorecar-total-ms'] = ms(totalMs);
  return h;
}

function ms(x: number): string {
  return x.toFixed(3);
}
