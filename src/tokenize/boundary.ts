import * as hfTokenizers from '@huggingface/tokenizers';

// The package's .d.ts files re-export without extensions, which NodeNext cannot follow.
const { SplitPreTokenizer } = hfTokenizers as unknown as {
  SplitPreTokenizer: new (config: unknown) => { pattern: RegExp | null };
};

/**
 * When is encode(A + B) === encode(A) ++ encode(B)?
 *
 * SGLang's single-item /v1/score tokenizes `query + item` as ONE string, so an item's cached ids
 * can only be reused when joining the two texts cannot change any token. For a byte-level BPE
 * tokenizer (Qwen3) that is decided at the join alone:
 *  1. added tokens (`<|im_end|>` ...) are cut out of the raw text first: no added token may
 *     straddle the join;
 *  2. each remaining section is NFC-normalised: the right text must not start with a character
 *     that composes or reorders with what precedes it;
 *  3. the normalised section is split by the pre-tokenizer regex, and BPE runs inside each piece:
 *     a piece must end exactly at the join.
 * Only (3) needs care. A regex match that starts at p reads past the join only if a run of one
 * character family reaches it, so matching is restarted a little before the trailing run of A
 * (see leftEdge) and must reproduce A's own pieces up to the join.
 * Anything this module cannot prove returns false, and the caller tokenizes the whole string.
 */

/** The end of a left text, as far as a join after it can see. */
export interface LeftEdge {
  /** Raw (unnormalised) tail, long enough to detect an added token across the join. */
  raw: string;
  /** NFC text of the last section, from a piece start that a join cannot move. */
  nfc: string;
  /** The text is empty or ends with an added token: the join is a section break. */
  hard: boolean;
  /** The restart point would be too far back to check cheaply: never exact. */
  opaque: boolean;
}

/** The start of a right text. */
export interface RightEdge {
  raw: string;
  /** First characters of the NFC text of the first section. */
  nfc: string;
  hard: boolean;
  /** nfc is a prefix of a longer first section. */
  truncated: boolean;
}

const RIGHT_WINDOW = 32;
const MAX_LEFT_CONTEXT = 256;

interface AddedTokenSpec {
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

interface TokenizerJsonShape {
  added_tokens?: AddedTokenSpec[];
  normalizer?: { type?: string } | null;
  pre_tokenizer?: {
    type?: string;
    pretokenizers?: Array<{
      type?: string;
      pattern?: { Regex?: string; String?: string };
      behavior?: string;
      invert?: boolean;
      use_regex?: boolean;
      add_prefix_space?: boolean;
    }>;
  } | null;
  post_processor?: { type?: string } | null;
  model?: { type?: string };
}

const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const MARK = /\p{M}/u;
const WHITESPACE_ONLY = /^\s*$/u;

export class BoundaryRules {
  /** False when the tokenizer's pipeline is not one this module can reason about. */
  readonly supported: boolean;
  private readonly splitRegex: RegExp | null;
  private readonly addedTokens: string[];
  private readonly maxAddedLen: number;
  private readonly addedFirstChars: Set<string>;

  private constructor(supported: boolean, splitRegex: RegExp | null, addedTokens: string[]) {
    this.supported = supported;
    this.splitRegex = splitRegex;
    this.addedTokens = addedTokens;
    this.maxAddedLen = addedTokens.reduce((m, t) => Math.max(m, t.length), 1);
    this.addedFirstChars = new Set(addedTokens.map((t) => t[0] ?? ''));
  }

  static fromTokenizerJson(json: Record<string, unknown>): BoundaryRules {
    const tj = json as TokenizerJsonShape;
    const added = (tj.added_tokens ?? []).map((t) => t);
    const addedContents = added.map((t) => t.content);
    const unsupported = (): BoundaryRules => new BoundaryRules(false, null, addedContents);

    if (tj.model?.type !== 'BPE') return unsupported();
    const normType = tj.normalizer?.type;
    if (normType !== undefined && normType !== 'NFC') return unsupported();
    // lstrip/rstrip tokens eat neighbouring whitespace across the join; normalised added tokens
    // are matched after normalisation. Neither occurs in Qwen3; refuse rather than guess.
    if (added.some((t) => t.lstrip || t.rstrip || t.normalized === true)) return unsupported();
    const pp = tj.post_processor?.type;
    if (pp !== undefined && pp !== 'ByteLevel') return unsupported(); // it would add BOS/EOS
    const pre = tj.pre_tokenizer;
    if (pre?.type !== 'Sequence' || !pre.pretokenizers || pre.pretokenizers.length !== 2) {
      return unsupported();
    }
    const [split, byteLevel] = pre.pretokenizers;
    if (
      split?.type !== 'Split' ||
      split.behavior !== 'Isolated' ||
      split.invert !== false ||
      typeof split.pattern?.Regex !== 'string' ||
      byteLevel?.type !== 'ByteLevel' ||
      byteLevel.use_regex !== false ||
      byteLevel.add_prefix_space !== false
    ) {
      return unsupported();
    }
    // Reuse the tokenizer library's own Oniguruma -> JS translation, so the check splits text
    // exactly as encode() does.
    const pattern = new SplitPreTokenizer(split).pattern;
    if (!(pattern instanceof RegExp)) return unsupported();
    const flags = pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g';
    return new BoundaryRules(true, new RegExp(pattern.source, flags), addedContents);
  }

  /** Splits raw text at added tokens like the tokenizer's trie splitter (leftmost-longest). */
  private sections(raw: string): { first: [number, number]; last: [number, number]; startsAdded: boolean; endsAdded: boolean } {
    let firstEnd = -1;
    let lastStart = 0;
    let startsAdded = false;
    let endsAdded = false;
    let i = 0;
    const n = raw.length;
    if (this.addedTokens.length > 0) {
      while (i < n) {
        let matchLen = 0;
        if (this.addedFirstChars.has(raw[i] as string)) {
          for (const t of this.addedTokens) {
            if (t.length > matchLen && raw.startsWith(t, i)) matchLen = t.length;
          }
        }
        if (matchLen > 0) {
          if (i === 0) startsAdded = true;
          if (firstEnd < 0) firstEnd = i;
          i += matchLen;
          lastStart = i;
          if (i === n) endsAdded = true;
        } else {
          i++;
        }
      }
    }
    if (firstEnd < 0) firstEnd = n;
    return { first: [0, firstEnd], last: [lastStart, n], startsAdded, endsAdded };
  }

  private pieceStarts(text: string): number[] {
    const re = this.splitRegex as RegExp;
    const starts: number[] = [];
    let prev = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > prev) starts.push(prev);
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      starts.push(m.index);
      prev = m.index + m[0].length;
    }
    if (prev < text.length) starts.push(prev);
    return starts;
  }

  private pieceEnds(text: string, limit: number): number[] {
    const re = this.splitRegex as RegExp;
    const ends: number[] = [];
    let prev = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > prev) {
        ends.push(m.index);
        if (m.index >= limit) return ends;
      }
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      prev = m.index + m[0].length;
      ends.push(prev);
      if (prev >= limit) return ends;
    }
    if (prev < text.length) ends.push(text.length);
    return ends;
  }

  leftEdge(raw: string): LeftEdge {
    const rawTail = raw.slice(Math.max(0, raw.length - this.maxAddedLen));
    if (!this.supported) return { raw: rawTail, nfc: '', hard: false, opaque: true };
    if (raw.length === 0) return { raw: '', nfc: '', hard: true, opaque: false };
    const sec = this.sections(raw);
    if (sec.endsAdded) return { raw: rawTail, nfc: '', hard: true, opaque: false };
    const text = raw.slice(sec.last[0], sec.last[1]).normalize('NFC');
    const r = this.restartPoint(text);
    if (text.length - r > MAX_LEFT_CONTEXT) return { raw: rawTail, nfc: '', hard: false, opaque: true };
    return { raw: rawTail, nfc: text.slice(r), hard: false, opaque: false };
  }

  rightEdge(raw: string): RightEdge {
    const rawHead = raw.slice(0, this.maxAddedLen);
    if (raw.length === 0) return { raw: '', nfc: '', hard: true, truncated: false };
    if (!this.supported) return { raw: rawHead, nfc: '', hard: false, truncated: true };
    const sec = this.sections(raw);
    if (sec.startsAdded) return { raw: rawHead, nfc: '', hard: true, truncated: false };
    // NFC can only shrink or keep a section's start; normalising a generous raw prefix is enough
    // unless the prefix ends inside a combining sequence, which the length check below catches.
    const firstRaw = raw.slice(sec.first[0], sec.first[1]);
    const probe = firstRaw.length > RIGHT_WINDOW * 4 ? firstRaw.slice(0, RIGHT_WINDOW * 4) : firstRaw;
    let nfc = probe.normalize('NFC');
    let truncated = probe.length < firstRaw.length;
    if (nfc.length > RIGHT_WINDOW) {
      let cut = RIGHT_WINDOW;
      const c = nfc.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--; // keep surrogate pairs whole
      nfc = nfc.slice(0, cut);
      truncated = true;
    }
    return { raw: rawHead, nfc, hard: false, truncated };
  }

  /**
   * Restart point inside the last section: matches that begin before it never read as far as
   * the end of the text, so they cannot change when something is appended.
   */
  private restartPoint(text: string): number {
    const n = text.length;
    let t = n;
    const lastCp = lastCodePoint(text);
    if (lastCp !== undefined && !NUMBER.test(lastCp)) {
      const letters = LETTER.test(lastCp);
      let i = n;
      while (i > 0) {
        let j = i - 1;
        const lo = text.charCodeAt(j);
        if (lo >= 0xdc00 && lo <= 0xdfff && j > 0) {
          const hi = text.charCodeAt(j - 1);
          if (hi >= 0xd800 && hi <= 0xdbff) j--;
        }
        const ch = text.slice(j, i);
        const isLetter = LETTER.test(ch);
        const sameFamily = letters ? isLetter : !isLetter && !NUMBER.test(ch);
        if (!sameFamily) break;
        i = j;
      }
      t = i;
    }
    const q = Math.max(0, t - 2);
    let r = 0;
    for (const s of this.pieceStarts(text)) {
      if (s > q) break;
      r = s;
    }
    return r;
  }

  /** True when encode(left + right) === encode(left) ++ encode(right). */
  joinIsExact(left: LeftEdge, right: RightEdge): boolean {
    if (!this.supported || left.opaque) return false;
    if (this.addedTokenStraddles(left.raw, right.raw)) return false;
    if (left.hard || right.hard) return true;
    if (!this.nfcSafe(left.nfc, right.nfc)) return false;
    if (right.truncated && WHITESPACE_ONLY.test(right.nfc)) return false;
    const joined = left.nfc + right.nfc;
    const boundary = left.nfc.length;
    const alone = this.pieceEnds(left.nfc, boundary);
    const together = this.pieceEnds(joined, boundary);
    if (alone.length !== together.length) return false;
    for (let i = 0; i < alone.length; i++) if (alone[i] !== together[i]) return false;
    return together[together.length - 1] === boundary;
  }

  private addedTokenStraddles(leftRaw: string, rightRaw: string): boolean {
    if (this.addedTokens.length === 0 || leftRaw.length === 0 || rightRaw.length === 0) return false;
    const joined = leftRaw + rightRaw;
    const b = leftRaw.length;
    for (const t of this.addedTokens) {
      const from = Math.max(0, b - t.length + 1);
      let at = joined.indexOf(t, from);
      while (at >= 0 && at < b) {
        if (at + t.length > b) return true;
        at = joined.indexOf(t, at + 1);
      }
    }
    return false;
  }

  private nfcSafe(leftNfc: string, rightNfc: string): boolean {
    const first = rightNfc.codePointAt(0);
    if (first === undefined || first < 0x300) return true;
    const ch = String.fromCodePoint(first);
    if (MARK.test(ch) || (first >= 0x1160 && first <= 0x11ff)) return false;
    const a = leftNfc.slice(-4);
    const b = rightNfc.slice(0, 4);
    return (a + b).normalize('NFC') === a + b;
  }
}

function lastCodePoint(text: string): string | undefined {
  if (text.length === 0) return undefined;
  const lo = text.charCodeAt(text.length - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && text.length > 1) {
    const hi = text.charCodeAt(text.length - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return text.slice(-2);
  }
  return text.slice(-1);
}

/** Serialises an edge into one string, the key by which edges are interned. */
export function leftEdgeKey(e: LeftEdge): string {
  return `${e.hard ? 'H' : e.opaque ? 'O' : 'S'}${e.raw.length}:${e.raw}${e.nfc}`;
}

export function rightEdgeKey(e: RightEdge): string {
  return `${e.hard ? 'H' : e.truncated ? 'T' : 'S'}${e.raw.length}:${e.raw}${e.nfc}`;
}

export function parseLeftEdgeKey(key: string): LeftEdge {
  const { flag, raw, rest } = splitKey(key);
  return { raw, nfc: rest, hard: flag === 'H', opaque: flag === 'O' };
}

export function parseRightEdgeKey(key: string): RightEdge {
  const { flag, raw, rest } = splitKey(key);
  return { raw, nfc: rest, hard: flag === 'H', truncated: flag === 'T' };
}

function splitKey(key: string): { flag: string; raw: string; rest: string } {
  const colon = key.indexOf(':');
  const rawLen = Number(key.slice(1, colon));
  return { flag: key[0] as string, raw: key.slice(colon + 1, colon + 1 + rawLen), rest: key.slice(colon + 1 + rawLen) };
}
