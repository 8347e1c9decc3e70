/**
 * Faster steps for @huggingface/tokenizers, output-identical, installed on a loaded tokenizer.
 *
 * Why by hand: the package has no option for any of them, and they were the worker threads'
 * largest costs (profile of a tokenizer worker on bench-corpus texts). `npm run bench:tokenizer` measures
 * them on one thread, added in turn (bench/results/tokenizer.md: 1.80x, 2.29x, 2.86x):
 *  - ByteLevel: every pre-token (a word, for Qwen3) went to its byte-level string through
 *    TextEncoder.encode, Array.from, a per-byte closure and join, four allocations per word.
 *    This writes the UTF-8 bytes straight through the package's own 256-entry table.
 *  - The BPE word cache: an LRU whose every hit costs has + get + delete + set on a Map. This one
 *    keeps the same bound (cache_capacity entries) with first-in-first-out eviction, one Map.get
 *    per hit. The cache memoizes a pure function of the word, so the policy cannot change an id;
 *    it only changes which words are recomputed.
 *  - Pre-tokenizing a list: the package maps every piece to a list and flattens the result with
 *    the generic `flat()`; Split and ByteLevel return flat lists, so a loop appends them instead.
 * The tests check every pre-token shape (ASCII, 2-4 byte UTF-8, lone surrogates) and whole
 * encodings against the unpatched tokenizer, and fail if the package changes shape so that a
 * step no longer applies (package.json pins the version these were written against).
 */

/** The fields of the package's ByteLevel pre-tokenizer this file relies on. */
interface ByteLevelLike {
  add_prefix_space: boolean;
  use_regex: boolean;
  pattern: RegExp;
  byte_encoder: Record<number, string>;
  pre_tokenize_text(text: string, options?: unknown): string[];
}

function isByteLevel(x: unknown): x is ByteLevelLike {
  // The package's pre-tokenizers are callable objects: functions with fields.
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return false;
  const o = x as Partial<ByteLevelLike>;
  return (
    o.constructor?.name === 'ByteLevel' &&
    typeof o.add_prefix_space === 'boolean' &&
    typeof o.use_regex === 'boolean' &&
    o.pattern instanceof RegExp &&
    typeof o.byte_encoder === 'object' &&
    o.byte_encoder !== null &&
    typeof o.pre_tokenize_text === 'function'
  );
}

/** The byte-level string of `s`: each UTF-8 byte of s (as TextEncoder writes it) through `table`. */
export function byteLevelString(s: string, table: readonly string[]): string {
  let out = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += table[c] as string;
    } else if (c < 0x800) {
      out += (table[0xc0 | (c >> 6)] as string) + (table[0x80 | (c & 0x3f)] as string);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out +=
          (table[0xf0 | (cp >> 18)] as string) +
          (table[0x80 | ((cp >> 12) & 0x3f)] as string) +
          (table[0x80 | ((cp >> 6) & 0x3f)] as string) +
          (table[0x80 | (cp & 0x3f)] as string);
        i++;
      } else {
        // A lone surrogate: TextEncoder writes U+FFFD.
        out += (table[0xef] as string) + (table[0xbf] as string) + (table[0xbd] as string);
      }
    } else {
      out += (table[0xe0 | (c >> 12)] as string) + (table[0x80 | ((c >> 6) & 0x3f)] as string) + (table[0x80 | (c & 0x3f)] as string);
    }
  }
  return out;
}

/** Every pre-tokenizer of `tokenizer`: its own, and those inside Sequences, depth first. */
function preTokenizers(tokenizer: unknown): unknown[] {
  const out: unknown[] = [];
  const walk = (pre: unknown): void => {
    if (pre === undefined || pre === null) return;
    out.push(pre);
    const inner = (pre as { tokenizers?: unknown }).tokenizers;
    if (Array.isArray(inner)) for (const t of inner) walk(t);
  };
  walk((tokenizer as { pre_tokenizer?: unknown } | null)?.pre_tokenizer);
  return out;
}

/**
 * Gives each ByteLevel pre-tokenizer of `tokenizer` the fast byte-level step. Returns how many it
 * patched (0: the tokenizer has none, or the package no longer has the shape this relies on).
 */
export function installByteLevelFastPath(tokenizer: unknown): number {
  const found = preTokenizers(tokenizer).filter(isByteLevel);
  const tables = found.map((bl) => Array.from({ length: 256 }, (_, b) => bl.byte_encoder[b]));
  if (!tables.every((t): t is string[] => t.every((ch) => typeof ch === 'string'))) return 0;
  found.forEach((bl, k) => {
    const table = tables[k] as string[];
    // The package's own steps (prefix space, regex split), with the mapping replaced.
    bl.pre_tokenize_text = function fastPreTokenizeText(this: ByteLevelLike, text: string): string[] {
      if (this.add_prefix_space && !text.startsWith(' ')) text = ` ${text}`;
      if (!this.use_regex) return [byteLevelString(text, table)];
      const tokens = text.match(this.pattern) ?? [];
      const out: string[] = new Array(tokens.length);
      for (let i = 0; i < tokens.length; i++) out[i] = byteLevelString(tokens[i] as string, table);
      return out;
    };
  });
  return found.length;
}

/** A pre-tokenizer whose pre_tokenize_text returns a flat list of strings (Split, ByteLevel). */
interface FlatPreTokenizer {
  constructor: { name: string };
  pre_tokenize_text(text: string, options?: unknown): string[];
  pre_tokenize(text: string | string[], options?: unknown): string[];
}

/**
 * The package's pre_tokenize for one string or a list, without the intermediate `map` array and
 * the generic `flat()` it ends with: each piece's strings are appended in order, which is what
 * flat() gives when every piece is a flat list of strings (true of Split and ByteLevel).
 */
function preTokenizeLoop(this: FlatPreTokenizer, text: string | string[], options?: unknown): string[] {
  if (!Array.isArray(text)) return this.pre_tokenize_text(text, options);
  const out: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const r = this.pre_tokenize_text(text[i] as string, options);
    for (let j = 0; j < r.length; j++) out.push(r[j] as string);
  }
  return out;
}

/**
 * Gives the Split and ByteLevel pre-tokenizers inside `tokenizer`'s pre-tokenizer Sequence (the
 * ones a Sequence hands lists to) the loop above. Returns how many it changed.
 */
export function installPreTokenizeLoop(tokenizer: unknown): number {
  let n = 0;
  for (const t of preTokenizers(tokenizer).slice(1) as Partial<FlatPreTokenizer>[]) {
    const name = t?.constructor?.name;
    if ((name !== 'Split' && name !== 'ByteLevel') || typeof t.pre_tokenize_text !== 'function' || typeof t.pre_tokenize !== 'function') continue;
    t.pre_tokenize = preTokenizeLoop;
    n++;
  }
  return n;
}

/** The package's BPE model, as far as its word cache goes. */
interface BpeLike {
  cache_capacity: number;
  cache: { get(key: string): unknown; put(key: string, value: unknown): void; clear(): void };
  bpe(token: string): string[];
}

/** A bounded word cache: one Map.get per hit; past `capacity` entries the oldest goes. */
export class FifoWordCache<V> {
  readonly cache = new Map<string, V>();
  constructor(readonly capacity: number) {}

  get(key: string): V | undefined {
    return this.cache.get(key);
  }

  put(key: string, value: V): void {
    if (this.cache.size >= this.capacity && !this.cache.has(key)) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(key, value);
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * Replaces the BPE model's LRU word cache by a FifoWordCache of the same capacity. Returns whether
 * it did (false: the model is not the package's BPE as this file knows it).
 */
export function installBpeCacheFastPath(tokenizer: unknown): boolean {
  const model = (tokenizer as { model?: Partial<BpeLike> } | null)?.model;
  if ((typeof model !== 'object' && typeof model !== 'function') || model === null) return false;
  const c = model.cache;
  if (typeof model.bpe !== 'function' || typeof model.cache_capacity !== 'number' || model.cache_capacity < 1) return false;
  if (typeof c?.get !== 'function' || typeof c.put !== 'function' || typeof c.clear !== 'function') return false;
  model.cache = new FifoWordCache<unknown>(model.cache_capacity);
  return true;
}
