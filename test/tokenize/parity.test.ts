import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenizerPool } from '../../src/tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE } from '../../src/tokenize/protocol.js';
import { defaultTokenizerPath } from '../../src/tokenize/tokenizer-file.js';
import { longText, mulberry32, randomText } from '../support/random-texts.js';

/**
 * scorecar's ids (pure-JS @huggingface/tokenizers in worker threads) equal those of HF's native
 * Rust tokenizer (npm `tokenizers`, a dev dependency used only as this reference).
 */
interface NativeTokenizer {
  encode(text: string, pair: null, options: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }>;
}

const require = createRequire(import.meta.url);

function corpus(): string[] {
  const rnd = mulberry32(2026);
  const texts: string[] = [
    '',
    ' ',
    '   leading and trailing   ',
    "It's, they'LL, we'RE, I'd, don’t",
    'naïve café Zürich ß İstanbul ıi',
    'e\u0301 vs é (NFD vs NFC), ﬁ ligature, ＡＢＣ full width',
    '机器学习工程师 データサイエンティスト 데이터 과학자',
    'Привет мир; مرحبا بالعالم; שלום עולם; नमस्ते दुनिया; สวัสดีชาวโลก',
    '👨‍👩‍👧‍👦 🇨🇭 👍🏽 1️⃣ #️⃣ 🙂🙂🙂',
    '1234567890 3.14159 $180,000-$220,000 +1 (555) 010-9999 2026-11-26 192.168.0.1',
    'tabs\tand\nnewlines\r\nand\n\n\n\nmore',
    '<|im_start|>system\nYou are a judge.<|im_end|>\n<|im_start|>user\n<think>\n</think>',
    '<|endoftext|> inside text and <tool_call> too',
    'zero\u200bwidth\u200djoin\u00a0nbsp\u2028line\u0085nel',
    '\u001b[31mred\u001b[0m control \u0007 chars',
    'lone surrogate \ud800 here',
    'https://jobs.example.com/path?q=a&b=c#frag and x.y@example.co.uk',
    'C++/C#/.NET, Node.js, TypeScript 5.9, K8s',
    'a'.repeat(3000),
    'ab '.repeat(1000),
    '🙂'.repeat(500),
    '中'.repeat(1000),
    ' '.repeat(100),
    '\n'.repeat(22),
  ];
  while (texts.length < 280) texts.push(randomText(rnd, 30));
  while (texts.length < 320) texts.push(longText(rnd, 200 + Math.floor(rnd() * 1200)));
  return texts;
}

describe('tokenizer parity with the native HF tokenizer', () => {
  let pool: TokenizerPool;
  let native: NativeTokenizer;

  beforeAll(async () => {
    pool = new TokenizerPool({ threads: 2 });
    await pool.ready();
    const { Tokenizer } = require('tokenizers') as { Tokenizer: { fromFile(p: string): NativeTokenizer } };
    native = Tokenizer.fromFile(defaultTokenizerPath());
  });

  afterAll(async () => {
    await pool.close();
  });

  it('gives identical ids on 320 varied texts', async () => {
    const texts = corpus();
    expect(texts.length).toBeGreaterThanOrEqual(300);
    const ops = new Int32Array(texts.length * 3);
    for (let i = 0; i < texts.length; i++) {
      ops[3 * i] = OP_ALONE;
      ops[3 * i + 1] = i;
    }
    const r = await pool.encode({ type: 'encode', texts, ops, wantEdges: false });
    let tokens = 0;
    for (let i = 0; i < texts.length; i++) {
      const off = r.packed[RESULT_HEADER + RESULT_STRIDE * i] as number;
      const len = r.packed[RESULT_HEADER + RESULT_STRIDE * i + 1] as number;
      const ours = Array.from(r.packed.subarray(off, off + len));
      const theirs = (await native.encode(texts[i] as string, null, { addSpecialTokens: false })).getIds();
      expect(ours, `text ${i}: ${JSON.stringify(texts[i]).slice(0, 80)}`).toEqual(theirs);
      tokens += len;
    }
    expect(tokens).toBeGreaterThan(50_000);
  });

  it('decodes like the reference on round trips', async () => {
    const text = 'Senior engineer — Zürich 🚀 机器学习';
    const ids = (await native.encode(text, null, { addSpecialTokens: false })).getIds();
    expect(await pool.decode(Int32Array.from(ids), false)).toBe(text);
  });
});
