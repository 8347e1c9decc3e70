import { LRUCache } from 'lru-cache';
import type { JoinOracle } from '../tokenize/join-oracle.js';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE } from '../tokenize/protocol.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import { type CostParams, tokenizeCostUs } from './cost-model.js';
import { SerialResource } from './scheduler.js';

interface Part {
  ids: Int32Array;
  left: number;
  right: number;
}

/**
 * SGLang's tokenizer as the emulator sees it: real Qwen3 ids from the worker pool, memoised so
 * the emulator's own CPU stays out of benchmarks, while the modelled tokenization time of every
 * text is charged on a serial resource, as SGLang's tokenizer manager would spend it.
 *
 * Single-item mode tokenizes each query+item string whole. The emulator gets the same ids from
 * the memoised parts when the join is provably exact (JoinOracle), and tokenizes the whole string
 * otherwise, so a new (query, item) pair costs no real tokenization in the common case.
 */
export class EmulatedTokenizer {
  private readonly memo: LRUCache<string, Part>;
  private readonly resource: SerialResource;
  modelledUs = 0;

  constructor(
    private readonly pool: TokenizerPool,
    private readonly cost: CostParams,
    private readonly oracle: JoinOracle,
    resource: SerialResource = new SerialResource(),
    memoBytes = 512 * 1024 * 1024,
  ) {
    this.resource = resource;
    this.memo = new LRUCache<string, Part>({
      maxSize: memoBytes,
      sizeCalculation: (v, k) => v.ids.byteLength + k.length * 2 + 96,
    });
  }

  /** Each text tokenized alone (memoised), without charging time. */
  async parts(texts: string[]): Promise<Part[]> {
    const out = new Array<Part>(texts.length);
    const missing: number[] = [];
    for (let i = 0; i < texts.length; i++) {
      const hit = this.memo.get(texts[i] as string);
      if (hit) out[i] = hit;
      else missing.push(i);
    }
    if (missing.length > 0) {
      const ops = new Int32Array(missing.length * 3);
      for (let k = 0; k < missing.length; k++) {
        ops[3 * k] = OP_ALONE;
        ops[3 * k + 1] = k;
      }
      const res = await this.pool.encode({ type: 'encode', texts: missing.map((i) => texts[i] as string), ops, wantEdges: true });
      const packed = res.packed;
      for (let k = 0; k < missing.length; k++) {
        const off = packed[RESULT_HEADER + RESULT_STRIDE * k] as number;
        const len = packed[RESULT_HEADER + RESULT_STRIDE * k + 1] as number;
        const part: Part = {
          ids: packed.slice(off, off + len),
          left: this.oracle.left(res.edges[2 * k] as string),
          right: this.oracle.right(res.edges[2 * k + 1] as string),
        };
        const i = missing[k] as number;
        out[i] = part;
        this.memo.set(texts[i] as string, part);
      }
    }
    return out;
  }

  async ids(texts: string[]): Promise<Int32Array[]> {
    return (await this.parts(texts)).map((p) => p.ids);
  }

  /** Charges SGLang's modelled tokenizer time for texts of these token counts. */
  async charge(tokenCounts: number[]): Promise<void> {
    const us = tokenizeCostUs(this.cost, tokenCounts);
    this.modelledUs += us;
    await this.resource.use(us);
  }

  /** Tokenizes a request's texts, each on its own, and waits for the modelled time. */
  async tokenize(texts: string[]): Promise<Int32Array[]> {
    const out = await this.ids(texts);
    await this.charge(out.map((a) => a.length));
    return out;
  }

  /** Ids of each query+item (or item+query) string, as SGLang's single-item mode makes them. */
  async tokenizeJoined(query: string, items: string[], itemFirst: boolean): Promise<Int32Array[]> {
    const [q, ...parts] = await this.parts([query, ...items]);
    const qp = q as Part;
    const out = new Array<Int32Array>(items.length);
    const whole: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const p = parts[i] as Part;
      const exact = itemFirst ? this.oracle.exact(p.left, qp.right) : this.oracle.exact(qp.left, p.right);
      if (!exact) {
        whole.push(i);
        continue;
      }
      const ids = new Int32Array(qp.ids.length + p.ids.length);
      ids.set(itemFirst ? p.ids : qp.ids, 0);
      ids.set(itemFirst ? qp.ids : p.ids, itemFirst ? p.ids.length : qp.ids.length);
      out[i] = ids;
    }
    if (whole.length > 0) {
      const joined = await this.ids(whole.map((i) => (itemFirst ? items[i] + query : query + items[i])));
      whole.forEach((i, k) => (out[i] = joined[k] as Int32Array));
    }
    await this.charge(out.map((a) => a.length));
    return out;
  }

  decode(ids: Int32Array, skipSpecialTokens: boolean): Promise<string> {
    return this.pool.decode(ids, skipSpecialTokens);
  }
}
