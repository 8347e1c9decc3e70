import * as hfTokenizers from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { FifoWordCache, byteLevelString, installBpeCacheFastPath, installByteLevelFastPath, installPreTokenizeLoop } from '../../src/tokenize/hf-fast-paths.js';
import { createTextTokenizer } from '../../src/tokenize/text-tokenizer.js';
import { loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';
import { PIECES, longText, mulberry32, randomText } from '../support/random-texts.js';

/** The package's pre-tokenizer as loaded, with the method the fast path replaces. */
interface PreTokenizerTree {
  constructor: { name: string };
  tokenizers?: PreTokenizerTree[];
  byte_encoder?: Record<number, string>;
  pre_tokenize_text(text: string): string[];
}

const { Tokenizer } = hfTokenizers as unknown as {
  Tokenizer: new (json: object, config: object) => { pre_tokenizer: PreTokenizerTree; model: { cache: unknown; cache_capacity: number } };
};
const files = loadTokenizerFiles();

/** Strings of every UTF-8 length, lone and paired surrogates at every position, control bytes. */
function strings(): string[] {
  const rnd = mulberry32(77);
  const out = ['', ' ', 'a', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff', '\ud7ff', '\ue000', '\ud800', '\udfff', 'x\ud800', '\ud800x', '\udc00\ud800', '\ud83d\ude42', '\ud83d', 'a\ud83d\ude42b\ude42', ...PIECES];
  for (let c = 0; c < 0x800; c++) out.push(String.fromCharCode(c));
  for (let k = 0; k < 500; k++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * 12);
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rnd() * 0x10000));
    out.push(s);
  }
  for (let k = 0; k < 200; k++) out.push(randomText(rnd, 20), longText(rnd, 60));
  return out;
}

describe('fast paths for @huggingface/tokenizers', () => {
  it('patches the one ByteLevel pre-tokenizer of the Qwen3 file (fails if the package changes shape)', () => {
    const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    const levels = tok.pre_tokenizer.tokenizers?.filter((t) => t.constructor.name === 'ByteLevel') ?? [];
    expect(levels).toHaveLength(1);
    const before = levels[0]?.pre_tokenize_text;
    expect(installByteLevelFastPath(tok)).toBe(1);
    expect(levels[0]?.pre_tokenize_text).not.toBe(before);
  });

  it('maps every string as the package does: TextEncoder bytes through byte_encoder', () => {
    const ref = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    const level = ref.pre_tokenizer.tokenizers?.find((t) => t.constructor.name === 'ByteLevel') as PreTokenizerTree;
    const table = Array.from({ length: 256 }, (_, b) => level.byte_encoder?.[b] as string);
    let checked = 0;
    for (const s of strings()) {
      // The package's own method, untouched, is the reference.
      expect(byteLevelString(s, table), JSON.stringify(s)).toBe((level.pre_tokenize_text(s) as string[]).join(''));
      checked++;
    }
    expect(checked).toBeGreaterThan(2_000);
  });

  it('swaps the BPE word cache for a FIFO one of the same capacity (fails if the package changes shape)', () => {
    const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    expect(installBpeCacheFastPath(tok)).toBe(true);
    expect(tok.model.cache).toBeInstanceOf(FifoWordCache);
    expect((tok.model.cache as FifoWordCache<unknown>).capacity).toBe(tok.model.cache_capacity);
    expect(installBpeCacheFastPath({ model: {} })).toBe(false);
  });

  it('keeps whole encodings identical to the unpatched tokenizer, also once the word cache evicts', () => {
    const fast = createTextTokenizer(files);
    const slow = createTextTokenizer(files, { byteLevel: false, bpeCache: false, preTokenizeLoop: false });
    expect([fast.fastPaths, slow.fastPaths]).toEqual([
      { byteLevel: true, bpeCache: true, preTokenizeLoop: true },
      { byteLevel: false, bpeCache: false, preTokenizeLoop: false },
    ]);
    // A small cache that evicts on every few words: recomputed words must come out the same.
    const small = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    installByteLevelFastPath(small);
    installBpeCacheFastPath(small);
    installPreTokenizeLoop(small);
    small.model.cache = new FifoWordCache<unknown>(8);
    const smallIds = (s: string): number[] => (small as unknown as { encode(t: string, o: object): { ids: number[] } }).encode(s, { add_special_tokens: false }).ids;
    let tokens = 0;
    for (const pass of [1, 2]) {
      for (const s of strings()) {
        const ids = fast.encode(s);
        const ref = slow.encode(s);
        expect(ids, `pass ${pass}: ${JSON.stringify(s).slice(0, 80)}`).toEqual(ref);
        expect(smallIds(s)).toEqual(ref);
        tokens += ids.length;
      }
    }
    expect(tokens).toBeGreaterThan(40_000);
  });

  it('FifoWordCache holds at most its capacity and drops the oldest first', () => {
    const c = new FifoWordCache<number>(3);
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3], ['a', 9], ['d', 4]] as const) c.put(k, v);
    expect([...c.cache.keys()]).toEqual(['b', 'c', 'd']);
    expect([c.get('a'), c.get('b'), c.get('d')]).toEqual([undefined, 2, 4]);
    c.clear();
    expect(c.cache.size).toBe(0);
  });

  it("keeps the package's own prefix-space and regex steps: all four settings, patched and not, give the same ids", () => {
    // Qwen3's file sets both off; another tokenizer file may set them (--tokenizer-path).
    type Encoder = { encode(t: string, o: object): { ids: number[] } };
    const sample = strings().filter((_, k) => k % 7 === 0);
    for (const addPrefixSpace of [false, true]) {
      for (const useRegex of [false, true]) {
        const json = structuredClone(files.tokenizerJson) as { pre_tokenizer: { pretokenizers: Array<Record<string, unknown>> } };
        const level = json.pre_tokenizer.pretokenizers.find((p) => p.type === 'ByteLevel') as Record<string, unknown>;
        level.add_prefix_space = addPrefixSpace;
        level.use_regex = useRegex;
        const plain = new Tokenizer(json, files.tokenizerConfig) as unknown as Encoder;
        const fast = new Tokenizer(json, files.tokenizerConfig);
        expect(installByteLevelFastPath(fast)).toBe(1);
        expect(installPreTokenizeLoop(fast)).toBe(2);
        for (const s of sample) {
          expect((fast as unknown as Encoder).encode(s, { add_special_tokens: false }).ids, `${addPrefixSpace}/${useRegex} ${JSON.stringify(s).slice(0, 60)}`).toEqual(
            plain.encode(s, { add_special_tokens: false }).ids,
          );
        }
      }
    }
  });

  it('gives Split and ByteLevel the flattening loop, which returns what the package did for a string and for a list', () => {
    const ref = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    expect(installPreTokenizeLoop(tok)).toBe(2);
    type Pre = { pre_tokenize(t: string | string[]): string[] };
    // Installed on the instances: their own property, not the class's method the reference still uses.
    for (const [k, t] of (tok.pre_tokenizer.tokenizers ?? []).entries()) {
      expect(Object.hasOwn(t, 'pre_tokenize')).toBe(true);
      expect((t as unknown as Pre).pre_tokenize).not.toBe(((ref.pre_tokenizer.tokenizers ?? [])[k] as unknown as Pre).pre_tokenize);
    }
    const all = strings();
    const pieces = [...all.slice(0, 200), ...all.slice(-300)];
    for (const [k, t] of (tok.pre_tokenizer.tokenizers ?? []).entries()) {
      const r = (ref.pre_tokenizer.tokenizers ?? [])[k] as unknown as Pre;
      expect((t as unknown as Pre).pre_tokenize(pieces)).toEqual(r.pre_tokenize(pieces));
      for (const s of pieces.slice(0, 50)) expect((t as unknown as Pre).pre_tokenize(s)).toEqual(r.pre_tokenize(s));
    }
  });

  it('leaves a tokenizer without a ByteLevel pre-tokenizer alone', () => {
    expect(installByteLevelFastPath({ pre_tokenizer: null })).toBe(0);
    expect(installByteLevelFastPath({})).toBe(0);
    expect(installPreTokenizeLoop({ pre_tokenizer: {} })).toBe(0);
  });
});
