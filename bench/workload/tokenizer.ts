import { createTextTokenizer, type TextTokenizer } from '../../src/tokenize/text-tokenizer.js';
import { loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';

export type { TextTokenizer };

let cached: TextTokenizer | null = null;

/**
 * The pinned Qwen3 tokenizer, loaded once per process (about a second). The bench tokenizes on
 * the main thread only while it builds the corpus, before any request is timed.
 */
export function qwen3Tokenizer(): TextTokenizer {
  cached ??= createTextTokenizer(loadTokenizerFiles());
  return cached;
}
