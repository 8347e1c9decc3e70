import * as hf from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BoundaryRules, leftEdgeKey, parseLeftEdgeKey, parseRightEdgeKey, rightEdgeKey } from '../../src/tokenize/boundary.js';
import { loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';
import { PIECES, mulberry32, randomText } from '../support/random-texts.js';

/**
 * The join rules may say "not exact" too often, never "exact" wrongly: whenever joinIsExact
 * holds, encode(a + b) must equal encode(a) ++ encode(b) with the real tokenizer.
 */
type Enc = (s: string) => number[];

let rules: BoundaryRules;
let enc: Enc;

beforeAll(() => {
  const files = loadTokenizerFiles();
  rules = BoundaryRules.fromTokenizerJson(files.tokenizerJson);
  const { Tokenizer } = hf as unknown as { Tokenizer: new (a: object, b: object) => { encode(s: string, o: object): { ids: number[] } } };
  const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  enc = (s) => tok.encode(s, { add_special_tokens: false }).ids;
});

function exactJoin(a: string, b: string): boolean {
  return rules.joinIsExact(rules.leftEdge(a), rules.rightEdge(b));
}

describe('join exactness rules for the Qwen3 tokenizer', () => {
  it('are supported for this tokenizer pipeline', () => {
    expect(rules.supported).toBe(true);
  });

  it('never claim an exact join that is not (20,000 random pairs)', () => {
    const rnd = mulberry32(7);
    let exact = 0;
    for (let k = 0; k < 20_000; k++) {
      const a = randomText(rnd, 5);
      const b = randomText(rnd, 5);
      if (!exactJoin(a, b)) continue;
      exact++;
      const joined = enc(a + b);
      const parts = [...enc(a), ...enc(b)];
      if (joined.join(',') !== parts.join(',')) throw new Error(`wrongly exact: ${JSON.stringify(a)} + ${JSON.stringify(b)}`);
    }
    // The rules must also be useful: most natural joins are provably exact.
    expect(exact).toBeGreaterThan(5_000);
  });

  it('handle every pair of the tricky pieces', () => {
    for (const a of PIECES) {
      for (const b of PIECES) {
        for (const [x, y] of [
          [a, b],
          ['query ' + a, b + ' item'],
        ] as const) {
          if (exactJoin(x, y)) expect(enc(x + y), `${JSON.stringify(x)} + ${JSON.stringify(y)}`).toEqual([...enc(x), ...enc(y)]);
        }
      }
    }
  });

  it('find the joins a scoring prompt template relies on exact', () => {
    expect(exactJoin('<|im_start|>user\nQuery: python jobs\n', 'Title: Senior Python Engineer')).toBe(true);
    expect(exactJoin('Query: python jobs', '\nTitle: Engineer')).toBe(true);
    expect(exactJoin('python jobs', ' in Zürich')).toBe(true);
  });

  it('refuse joins that really merge tokens', () => {
    expect(exactJoin('pyth', 'on')).toBe(false); // one word split in two
    expect(exactJoin('x  ', 'y')).toBe(false); // whitespace run regroups
    expect(exactJoin('<|im_', 'end|>')).toBe(false); // an added token across the join
    expect(exactJoin('e', '\u0301')).toBe(false); // NFC composes across the join
  });

  it('round-trip edges through their interning keys', () => {
    for (const t of ['abc', '', 'x<|im_end|>', 'trailing  ', ' 🙂 long '.repeat(40)]) {
      const l = rules.leftEdge(t);
      const r = rules.rightEdge(t);
      expect(parseLeftEdgeKey(leftEdgeKey(l))).toEqual(l);
      expect(parseRightEdgeKey(rightEdgeKey(r))).toEqual(r);
    }
  });
});
