import { ScoreError } from '../pipeline/errors.js';
import { TYPE_BAD_REQUEST, TYPE_VALIDATION } from '../sglang/errors.js';
import { PRESCAN_OK, PRESCAN_TOO_DEEP, PRESCAN_TOO_MANY_ITEMS, type PrescanResult } from '../mem/json-prescan.js';

/**
 * The refusals of scorecar's own request limits (README "Limits"), shared by HTTP and gRPC so
 * every route words them alike. Each is SGLang's 400 envelope with a message naming the flag.
 */

/** Too many items; `n` when the whole count is known, else the body was refused while counting. */
export function tooManyItems(max: number, n?: number): ScoreError {
  const what = n === undefined ? `more than ${max}` : `${n} > ${max}`;
  return new ScoreError(400, `Too many items: ${what} (scorecar --max-items)`, TYPE_BAD_REQUEST);
}

/** Maps a failed prescan of a body about to be JSON.parse'd to its refusal (null: go on). */
export function prescanRefusal(r: PrescanResult, maxItems: number, maxDepth: number): ScoreError | null {
  if (r === PRESCAN_OK) return null;
  if (r === PRESCAN_TOO_MANY_ITEMS) return tooManyItems(maxItems);
  if (r === PRESCAN_TOO_DEEP) return new ScoreError(400, `JSON nested deeper than ${maxDepth} levels (scorecar)`, TYPE_VALIDATION);
  return new ScoreError(
    400,
    `JSON body holds too many values for its ${maxItems} items at most (scorecar --max-items; see README "Limits")`,
    TYPE_VALIDATION,
  );
}
