import { describe, expect, it } from 'vitest';
import { fastapiParsesJson, isSglangJsonContentType } from '../../src/sglang/content-type.js';
import { scoreSemantics, tooLongMessage, validateScoreBody } from '../../src/sglang/score-schema.js';

describe("SGLang's /v1/score request model", () => {
  it('accepts the canonical and the lax pydantic forms', () => {
    const r = validateScoreBody({ query: 'q', items: ['a'], label_token_ids: ['1', 2.0, true], apply_softmax: 'yes', item_first: 0 });
    expect(r).toEqual({ ok: true, value: { query: 'q', items: ['a'], labels: [1, 2, 1], applySoftmax: true, itemFirst: false, model: 'default' } });
    expect(validateScoreBody({ query: [1, '2'], items: [[3]] })).toMatchObject({ ok: true, value: { query: [1, 2], items: [[3]] } });
  });

  it('rejects wrong types with pydantic-style messages', () => {
    const bad = validateScoreBody({ query: 5, items: 'x' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/'type': 'string_type', 'loc': \('body', 'query', 'str'\)/);
    expect(validateScoreBody({ items: ['a', [1]] }).ok).toBe(false);
    expect(validateScoreBody({ items: ['a'], apply_softmax: 2 }).ok).toBe(false);
    expect(validateScoreBody([1]).ok).toBe(false);
  });

  it("runs score_request's checks in SGLang's order", () => {
    expect(scoreSemantics(false, [], 0, false, 0, 'none', 'empty', 10)).toMatchObject({ kind: 'error', message: /label_token_ids is required/ });
    expect(scoreSemantics(true, [1], 1, false, 0, 'text', 'empty', 10)).toMatchObject({ kind: 'error', message: 'items must be provided' });
    expect(scoreSemantics(true, [99], 1, true, 0, 'text', 'empty', 10)).toEqual({ kind: 'empty' });
    expect(scoreSemantics(true, [10], 1, true, 1, 'text', 'text', 10)).toMatchObject({ kind: 'error', message: 'Token ID 10 is out of vocabulary (vocab size: 10)' });
    expect(scoreSemantics(true, [1], 1, true, 1, 'ids', 'text', 10)).toMatchObject({ kind: 'error', message: /Invalid combination/ });
    expect(scoreSemantics(true, [1], 1, true, 1, 'none', 'text', 10)).toMatchObject({ kind: 'error' });
    expect(scoreSemantics(true, [1], 1, true, 1, 'ids', 'ids', 10)).toEqual({ kind: 'ids' });
  });

  it('reports too-long inputs with the tokenizer-side message first', () => {
    expect(tooLongMessage(100, 100, 94)).toMatch(/longer than the model's context length \(100 tokens\)/);
    expect(tooLongMessage(95, 100, 94)).toMatch(/exceeds the maximum allowed length \(94 tokens\)/);
    expect(tooLongMessage(93, 100, 94)).toBeNull();
  });
});

describe("SGLang's content-type rule", () => {
  it('is exact about the media type, and FastAPI parses JSON-ish bodies first', () => {
    expect(isSglangJsonContentType('application/json')).toBe(true);
    expect(isSglangJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isSglangJsonContentType('application/json ;x')).toBe(false);
    expect(isSglangJsonContentType(undefined)).toBe(false);
    expect(isSglangJsonContentType('text/plain')).toBe(false);
    expect(fastapiParsesJson(undefined)).toBe(true);
    expect(fastapiParsesJson('application/vnd.api+json')).toBe(true);
    expect(fastapiParsesJson('text/plain')).toBe(false);
  });
});
