import { type BenchRequest, STATUS_TRANSPORT_ERROR, type ScoreTarget, type SendResult } from './target.js';

/** How one scheduled request ended. */
export type SendOutcome =
  | { kind: 'ok'; result: SendResult }
  | { kind: 'timeout' }
  | { kind: 'error'; status: number };

/**
 * Sends `req` with a deadline fixed by its schedule (a late send gets less time, never more),
 * and reports exactly once how it ended and when. A non-200 answer that arrives after the
 * deadline fired counts as a timeout; a 200 that beats the abort counts as a success.
 */
export function sendOnSchedule(
  target: ScoreTarget,
  req: BenchRequest,
  scheduledAt: number,
  sentAt: number,
  defaultTimeoutMs: number,
  done: (outcome: SendOutcome, endMs: number) => void,
): void {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      ac.abort();
    },
    Math.max(0, scheduledAt + (req.timeoutMs ?? defaultTimeoutMs) - sentAt),
  );
  const settle = (r: SendResult | null): void => {
    clearTimeout(timer);
    const end = performance.now();
    if (r !== null && r.status === 200) done({ kind: 'ok', result: r }, end);
    else if (timedOut) done({ kind: 'timeout' }, end);
    else done({ kind: 'error', status: r?.status ?? STATUS_TRANSPORT_ERROR }, end);
  };
  target.send(req, ac.signal).then(settle, () => settle(null));
}
