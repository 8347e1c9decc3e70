import { LRUCache } from 'lru-cache';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE } from '../tokenize/protocol.js';
import type { TokenizerPool } from '../tokenize/pool.js';
import { type CostParams, tokenizeCostUs } from './cost-model.js';
import { SerialResource } from './scheduler.js';

/**
 * SGLang's tokenizer as the emulator sees it: real Qwen3 ids (from the worker pool), memoised
 * so the emulator's own CPU stays out of benchmarks, while the modelled tokenization time of
 * every text is still charged on a serial resource, as SGLang's tokenizer manager would spend it.
 */
export class EmulatedTokenizer {
  private readonly memo: LRUCache<string, Int32Array>;
  private readonly resource = new SerialResource();
  modelledUs = 0;

  constructor(
    private readonly pool: TokenizerPool,
    private readonly cost: CostParams,
    memoBytes = 512 * 1024 * 1024,
  ) {
    this.memo = new LRUCache<string, Int32Array>({
      maxSize: memoBytes,
      sizeCalculation: (v, k) => v.byteLength + k.length * 2 + 64,
    });
  }

  /** Ids of each text tokenized alone, without charging time (used by /tokenize too). */
  async ids(texts: string[]): Promise<Int32Array[]> {
    const out = new Array<Int32Array>(texts.length);
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
      const res = await this.pool.encode({
        type: 'encode',
        texts: missing.map((i) => texts[i] as string),
        ops,
        wantEdges: false,
      });
      const packed = res.packed;
      for (let k = 0; k < missing.length; k++) {
        const off = packed[RESULT_HEADER + RESULT_STRIDE * k] as number;
        const len = packed[RESULT_HEADER + RESULT_STRIDE * k + 1] as number;
        const ids = packed.slice(off, off + len);
        const i = missing[k] as number;
        out[i] = ids;
        this.memo.set(texts[i] as string, ids);
      }
    }
    return out;
  }

  /** Tokenizes a request's texts and waits for SGLang's modelled tokenizer time. */
  async tokenize(texts: string[]): Promise<Int32Array[]> {
    const out = await this.ids(texts);
    const lens = out.map((a) => a.length);
    const us = tokenizeCostUs(this.cost, lens);
    this.modelledUs += us;
    await this.resource.use(us);
    return out;
  }

  decode(ids: Int32Array, skipSpecialTokens: boolean): Promise<string> {
    return this.pool.decode(ids, skipSpecialTokens);
  }
}
