import { prescanJson, prescanLimitsFor } from '../../mem/json-prescan.js';
import { ScoreError } from '../../pipeline/errors.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { jsonInvalidMessage } from '../../sglang/score-schema.js';
import { prescanRefusal } from '../limits.js';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body of one of scorecar's own JSON routes (/rank, /v1/rerank, /v2/rerank), parsed. Items,
 * nesting and values are counted and bounded before JSON.parse builds anything (a 64 MiB body of
 * empty arrays would otherwise cost over a GB of heap), and every parse error is worded one way:
 * FastAPI's json_invalid message, as SGLang's own routes give it.
 */
export function readJsonBody(body: Buffer, length: number, maxItems: number): unknown {
  const limits = prescanLimitsFor(maxItems);
  const refusal = prescanRefusal(prescanJson(body, length, limits), maxItems, limits.maxDepth);
  if (refusal !== null) throw refusal;
  try {
    return JSON.parse(fatalUtf8.decode(body.subarray(0, length)));
  } catch {
    throw new ScoreError(400, jsonInvalidMessage(body.subarray(0, length)), TYPE_VALIDATION);
  }
}
