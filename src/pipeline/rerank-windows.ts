/**
 * How a long document is scored: its tokens (between the template's fixed parts) cut into
 * windows of at most `cap` tokens. One window truncates; more overlap by `overlap` tokens so a
 * passage cut by one window boundary is whole in the next, and the document's score is the max
 * over its windows (Cohere v1's chunking).
 */
export interface WindowPlan {
  /** [start, end) of each window in the document's tokens. */
  starts: number[];
  ends: number[];
}

export function planWindows(length: number, cap: number, maxWindows: number, overlap: number): WindowPlan {
  if (cap < 1) throw new Error('window cap must be at least one token');
  if (length <= cap || maxWindows <= 1) return { starts: [0], ends: [Math.min(length, cap)] };
  const stride = Math.max(1, cap - Math.min(overlap, cap - 1));
  const starts: number[] = [];
  const ends: number[] = [];
  for (let s = 0; starts.length < maxWindows; s += stride) {
    starts.push(s);
    ends.push(Math.min(length, s + cap));
    if (s + cap >= length) break;
  }
  return { starts, ends };
}

/** Overlap between windows: an eighth of the window, at most 128 tokens. */
export function defaultOverlap(cap: number): number {
  return Math.min(128, Math.floor(cap / 8));
}
