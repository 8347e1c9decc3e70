import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { BoundaryRules, leftEdgeKey, rightEdgeKey, type LeftEdge } from './boundary.js';
import { loadTokenizerFiles } from './tokenizer-file.js';
import { createTextTokenizer } from './text-tokenizer.js';
import {
  OP_JOIN,
  OP_PAIR,
  PAIR_ITEM_FIRST,
  RESULT_HEADER,
  RESULT_STRIDE,
  type DecodeResult,
  type EncodeResult,
  type EncodeTask,
  type TokenizeTask,
  type WorkerInit,
} from './protocol.js';

const init = workerData as WorkerInit;
const files = loadTokenizerFiles(init.tokenizerPath, init.sha256);
const tokenizer = createTextTokenizer(files);
const rules = BoundaryRules.fromTokenizerJson(files.tokenizerJson);
const decoder = new TextDecoder('utf-8');

/** A result that transfers its buffer back instead of cloning it. */
class Transfer<T extends { packed: Int32Array }> {
  constructor(private readonly value: T) {}
  get [transferableSymbol](): ArrayBufferLike[] {
    return [this.value.packed.buffer];
  }
  get [valueSymbol](): T {
    return this.value;
  }
}

function textsOf(task: EncodeTask): string[] {
  if (task.texts) return task.texts;
  const bytes = task.bytes as Uint8Array;
  const spans = task.spans as Int32Array;
  const out: string[] = new Array(spans.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const s = spans[2 * i] as number;
    const e = spans[2 * i + 1] as number;
    const body = decoder.decode(bytes.subarray(s, e));
    // Escapes are rare in item text; only pay for JSON.parse when there is one.
    out[i] = body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body;
  }
  return out;
}

function encode(task: EncodeTask): EncodeResult {
  const texts = textsOf(task);
  const ops = task.ops;
  const nOps = ops.length / 3;
  const alone: number[][] = new Array(nOps);
  const joined: Array<number[] | null> = new Array(nOps).fill(null);
  const edges: string[] = [];
  const queryLeft = new Map<number, LeftEdge>();
  let total = 0;
  for (let k = 0; k < nOps; k++) {
    const kind = ops[3 * k] as number;
    const a = ops[3 * k + 1] as number;
    const b = ops[3 * k + 2] as number;
    const textA = texts[a] as string;
    if (kind === OP_JOIN) {
      alone[k] = tokenizer.encode(textA + (texts[b] as string));
    } else {
      const ids = tokenizer.encode(textA);
      alone[k] = ids;
      let left: LeftEdge | undefined;
      if (task.wantEdges || kind === OP_PAIR) {
        left = rules.leftEdge(textA);
        const right = rules.rightEdge(textA);
        if (task.wantEdges) edges.push(leftEdgeKey(left), rightEdgeKey(right));
        if (kind === OP_PAIR) {
          const queryIndex = b & 0xffff;
          const itemFirst = (b >>> 16 & PAIR_ITEM_FIRST) !== 0;
          const query = texts[queryIndex] as string;
          let exact: boolean;
          if (itemFirst) {
            exact = rules.joinIsExact(left, rules.rightEdge(query));
          } else {
            let ql = queryLeft.get(queryIndex);
            if (!ql) {
              ql = rules.leftEdge(query);
              queryLeft.set(queryIndex, ql);
            }
            exact = rules.joinIsExact(ql, right);
          }
          if (!exact) joined[k] = tokenizer.encode(itemFirst ? textA + query : query + textA);
        }
      }
    }
    total += (alone[k] as number[]).length + (joined[k]?.length ?? 0);
  }
  const header = RESULT_HEADER + RESULT_STRIDE * nOps;
  const packed = new Int32Array(header + total);
  packed[0] = nOps;
  let at = header;
  for (let k = 0; k < nOps; k++) {
    const ids = alone[k] as number[];
    const base = RESULT_HEADER + RESULT_STRIDE * k;
    packed[base] = at;
    packed[base + 1] = ids.length;
    for (let i = 0; i < ids.length; i++) packed[at++] = ids[i] as number;
    const j = joined[k];
    if (j) {
      packed[base + 2] = at;
      packed[base + 3] = j.length;
      for (let i = 0; i < j.length; i++) packed[at++] = j[i] as number;
    } else {
      packed[base + 2] = -1;
      packed[base + 3] = 0;
    }
  }
  return { packed, edges };
}

export default function run(task: TokenizeTask): unknown {
  if (task.type === 'decode') {
    const out: DecodeResult = { text: tokenizer.decode(task.ids, task.skipSpecialTokens) };
    return out;
  }
  // move() marks the wrapper so piscina transfers the ids buffer instead of cloning it.
  return move(new Transfer(encode(task)) as unknown as ArrayBuffer);
}
