import * as hfTokenizers from '@huggingface/tokenizers';
import { installBpeCacheFastPath, installByteLevelFastPath, installPreTokenizeLoop } from './hf-fast-paths.js';
import type { TokenizerFiles } from './tokenizer-file.js';

/** The slice of @huggingface/tokenizers' Tokenizer that scorecar uses. */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
}

// The package's .d.ts files re-export without extensions, which NodeNext cannot follow.
const { Tokenizer } = hfTokenizers as unknown as {
  Tokenizer: new (json: object, config: object) => HfTokenizer;
};

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: ArrayLike<number>, skipSpecialTokens: boolean): string;
  /** Which of the package's steps were replaced by output-identical faster ones (hf-fast-paths.ts). */
  readonly fastPaths: { byteLevel: boolean; bpeCache: boolean; preTokenizeLoop: boolean };
}

/**
 * Pure-JS tokenizer, id-identical to HF's Rust tokenizers on the Qwen3 file (deplab §3).
 * It blocks for milliseconds per long text, so it only ever runs inside worker threads.
 */
export function createTextTokenizer(
  files: TokenizerFiles,
  opts: { byteLevel?: boolean; bpeCache?: boolean; preTokenizeLoop?: boolean } = {},
): TextTokenizer {
  const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  // Output-identical, 2.9x the texts per second (hf-fast-paths.ts, bench/results/tokenizer.md);
  // off only as the tests' and the bench's reference.
  const fastPaths = {
    byteLevel: opts.byteLevel !== false && installByteLevelFastPath(tok) > 0,
    bpeCache: opts.bpeCache !== false && installBpeCacheFastPath(tok),
    preTokenizeLoop: opts.preTokenizeLoop !== false && installPreTokenizeLoop(tok) > 0,
  };
  return {
    fastPaths,
    // Qwen3's post-processor adds no BOS/EOS, so add_special_tokens true and false agree; false
    // matches what SGLang's MIS path asks for.
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids, skipSpecialTokens) =>
      ids.length === 0 ? '' : tok.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens }),
  };
}
