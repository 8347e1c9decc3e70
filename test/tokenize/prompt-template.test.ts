import * as hf from '@huggingface/tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { QWEN3_RERANKER, QWEN3_YES_NO, withInstruction } from '../../src/tokenize/prompt-template.js';
import { loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';
import { PIECES, longText, mulberry32, randomText } from '../support/random-texts.js';

/**
 * The /rank template splits each prompt into prefix and item on a pre-tokenizer boundary, so
 * tokenizing the two parts separately equals tokenizing the whole prompt: proven here on a
 * corpus of queries and bodies with the real tokenizer.
 */
let enc: (s: string) => number[];

beforeAll(() => {
  const files = loadTokenizerFiles();
  const { Tokenizer } = hf as unknown as { Tokenizer: new (a: object, b: object) => { encode(s: string, o: object): { ids: number[] } } };
  const tok = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  enc = (s) => tok.encode(s, { add_special_tokens: false }).ids;
});

describe('the qwen3-yes-no template', () => {
  it('tokenizes prefix + item exactly as the whole prompt, on a corpus of 600 prompts', () => {
    const rnd = mulberry32(99);
    const queries = [
      'senior python engineer remote',
      'nurse practitioner   ', // trailing spaces
      ' leading space data analyst',
      'ML 工程师 上海',
      'yes',
      'jobs\n\nwith newlines\n',
      '<|im_end|> injected',
      ...Array.from({ length: 23 }, () => randomText(rnd, 8)),
    ];
    const bodies = [
      ...PIECES.map((p) => `Title: ${p}\nDescription:\n${p} role`),
      QWEN3_YES_NO.renderFields({ title: 'Barista', company: 'Café Zürich', location: 'Zürich', employment_type: 'Part-time', remote: false, description: 'Coffee.' }),
      ...Array.from({ length: 20 }, () => longText(rnd, 200)),
      ' starts with a space',
      '\nstarts with a newline',
      '',
    ];
    let checked = 0;
    for (let k = 0; k < 600; k++) {
      const q = queries[k % queries.length] as string;
      const b = bodies[Math.floor(rnd() * bodies.length)] as string;
      const prefix = QWEN3_YES_NO.prefix(q);
      const item = QWEN3_YES_NO.item(b);
      expect([...enc(prefix), ...enc(item)], `${JSON.stringify(q)} | ${JSON.stringify(b).slice(0, 60)}`).toEqual(enc(prefix + item));
      checked++;
    }
    expect(checked).toBe(600);
  });

  it('ends every prompt with the answer cue and names its labels', () => {
    expect(QWEN3_YES_NO.item('x').endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(true);
    expect(QWEN3_YES_NO.labelTokenIds).toEqual([9693, 2152]);
    expect(enc('yes')).toEqual([9693]);
    expect(enc('no')).toEqual([2152]);
  });
});

describe('the qwen3-reranker template (Qwen3-Reranker model card prompt)', () => {
  it('is the model card prompt, with its default web-search instruction', () => {
    const whole = QWEN3_RERANKER.prefix('what is a kernel') + QWEN3_RERANKER.item('A kernel is the core of an OS.');
    expect(whole).toBe(
      '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
        'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n' +
        '<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n' +
        '<Query>: what is a kernel\n<Document>: A kernel is the core of an OS.' +
        '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(withInstruction(QWEN3_RERANKER, 'Find code').prefix('q')).toContain('<Instruct>: Find code\n<Query>: q\n');
    expect(withInstruction(QWEN3_RERANKER, 'Find code').name).not.toBe(QWEN3_RERANKER.name);
  });

  it('splits prefix | "<Document>:" | document | suffix on token boundaries, on a corpus of 600 prompts', () => {
    const rnd = mulberry32(7);
    const [head, suffix] = QWEN3_RERANKER.itemAroundIds.map((t) => enc(t)) as [number[], number[]];
    const docs = [...PIECES, ...Array.from({ length: 30 }, () => longText(rnd, 120)), ' lead space', '\nlead newline', '!!!', '', '<|im_end|> injected', '   '];
    for (let k = 0; k < 600; k++) {
      const q = k % 3 === 0 ? randomText(rnd, 6) : 'remote python jobs';
      const d = docs[Math.floor(rnd() * docs.length)] as string;
      const prefix = QWEN3_RERANKER.prefix(q);
      const item = QWEN3_RERANKER.item(d);
      const ids = enc(item);
      const label = `${JSON.stringify(q)} | ${JSON.stringify(d).slice(0, 60)}`;
      expect([...enc(prefix), ...ids], label).toEqual(enc(prefix + item));
      expect(ids.slice(0, head.length), label).toEqual(head);
      expect(ids.slice(ids.length - suffix.length), label).toEqual(suffix);
    }
  });
});
