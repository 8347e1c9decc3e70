import { describe, expect, it } from 'vitest';
import { fastapiParsesJson, isSglangJsonContentType } from '../../src/sglang/content-type.js';
import {
  needsBackendAsIs,
  scoreSemantics,
  tooLongMessage,
  validateScoreRequest,
} from '../../src/sglang/score-schema.js';
import { CONTENT_TYPE_MESSAGE, DEFAULT_SCORE_ENDPOINT_CONTEXT, MAX_MESSAGE_CHARS } from '../../src/sglang/validation-error.js';
import { pyFloatRepr, pyStrRepr } from '../../src/sglang/py-repr.js';

const CTX = DEFAULT_SCORE_ENDPOINT_CONTEXT;
const validate = (body: string) => validateScoreRequest(Buffer.from(body), CTX);

describe("SGLang 0.5.23's /v1/score request model (the recorded cases are in fixtures.test.ts)", () => {
  it('accepts the canonical and the lax pydantic forms, with their Python types', () => {
    const r = validate('{"query": "q", "items": ["a"], "label_token_ids": ["1", 2.0, true], "apply_softmax": "yes", "item_first": 0}');
    expect(r).toMatchObject({ ok: true, value: { query: 'q', items: ['a'], labels: [1, 2, 1], applySoftmax: true, itemFirst: false, model: 'default', temperature: 1 } });
    expect(validate('{"query": [1, "2"], "items": [[3]]}')).toMatchObject({ ok: true, value: { query: [1, 2], items: [[3]] } });
    // orjson keeps 64-bit ints exact; pydantic passes them on, so SGLang's messages print every digit.
    expect(validate('{"items": ["a"], "label_token_ids": [9223372036854775808]}')).toMatchObject({ ok: true, value: { labels: [9223372036854775808n] } });
  });

  it("writes FastAPI 0.165's message: the count, one line per error, the endpoint, then the list", () => {
    const bad = validate('{"query": 5, "apply_softmax": 2}');
    expect(bad.ok).toBe(false);
    const errors =
      "{'type': 'string_type', 'loc': ('body', 'query', 'str'), 'msg': 'Input should be a valid string', 'input': 5}, " +
      "{'type': 'list_type', 'loc': ('body', 'query', 'list[int]'), 'msg': 'Input should be a valid list', 'input': 5}, " +
      "{'type': 'bool_parsing', 'loc': ('body', 'apply_softmax'), 'msg': 'Input should be a valid boolean, unable to interpret input', 'input': 2}";
    expect(!bad.ok && bad.message).toBe(`3 validation errors:\n  ${errors.split(', {').join('\n  {')}\n${CTX} [${errors}]`);
  });

  it('reports a body that is not a dict, an empty body and invalid JSON as FastAPI does', () => {
    expect(validate('[1]')).toMatchObject({ ok: false, message: expect.stringMatching(/^1 validation error:\n {2}\{'type': 'model_attributes_type', 'loc': \('body',\)/) });
    expect(validate('')).toMatchObject({ ok: false, message: expect.stringContaining("{'type': 'missing', 'loc': ('body',), 'msg': 'Field required', 'input': None}") });
    expect(validate('{"query": }')).toMatchObject({
      ok: false,
      message: expect.stringContaining("'loc': ('body', 10), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': 'unexpected character, expected a JSON value'}"),
    });
  });

  it('bounds the message of a huge invalid body (SGLang repeats every input twice)', () => {
    const huge = `{"query": 5, "items": [${'"x", '.repeat(300_000)}1]}`;
    const r = validate(huge);
    expect(!r.ok && r.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 40);
  });

  it("knows which requests only the backend can answer (they are sent as is)", () => {
    const asIs = (body: string) => {
      const r = validate(body);
      return r.ok && needsBackendAsIs(r.value);
    };
    expect(asIs('{"query": "q", "items": ["a"], "label_token_ids": [1]}')).toBe(false);
    expect(asIs('{"query": "q", "items": ["a"], "label_token_ids": [1], "temperature": 2, "apply_softmax": true}')).toBe(true);
    expect(asIs('{"query": "q", "items": ["a"], "label_token_ids": [[1, 2]]}')).toBe(true);
    expect(asIs('{"query": "q", "items": [[1, 2]], "label_token_ids": [1]}')).toBe(true);
    expect(asIs('{"query": [1], "items": [[2]], "label_token_ids": [1], "return_token_logprobs": true}')).toBe(true);
    expect(asIs('{"query": [1], "items": [[2]], "label_token_ids": [1], "item_embed_overrides": [null]}')).toBe(true);
  });

  it('finds a repeated label among few labels (pairwise) and many (a Set), big ones included', () => {
    const dup = 'label_token_ids must not contain duplicate tokens';
    for (const n of [2, 3, 16, 17, 40, 5000]) {
      const distinct = Array.from({ length: n }, (_, i) => i * 3);
      expect(scoreSemantics(true, distinct, n, true, 1, 'ids', 'ids', 1e9)).toEqual({ kind: 'ids' });
      for (const [a, b] of [[0, n - 1], [n - 2, n - 1], [Math.floor(n / 2), 0]] as const) {
        if (a === b) continue;
        const labels = distinct.slice();
        labels[a] = labels[b] as number;
        expect(scoreSemantics(true, labels, n, true, 1, 'ids', 'ids', 1e9)).toMatchObject({ message: dup });
      }
    }
    // Above 2^53 labels are bigints: compared exactly, as the Set did.
    const big = [2n ** 60n, 2n ** 60n + 1n];
    expect(scoreSemantics(true, big, 2, true, 1, 'ids', 'ids', 10)).toMatchObject({ message: /out of vocabulary/ });
    expect(scoreSemantics(true, [2n ** 60n, 2n ** 60n], 2, true, 1, 'ids', 'ids', 10)).toMatchObject({ message: dup });
  });

  it("runs score_request's checks in SGLang's order", () => {
    expect(scoreSemantics(false, [], 0, false, 0, 'none', 'empty', 10)).toMatchObject({ kind: 'error', message: /label_token_ids is required/ });
    expect(scoreSemantics(true, [1], 1, false, 0, 'text', 'empty', 10)).toMatchObject({ kind: 'error', message: 'items must be provided' });
    expect(scoreSemantics(true, [-1, 99], 2, true, 0, 'text', 'empty', 10)).toEqual({ kind: 'empty' });
    expect(scoreSemantics(true, [], 0, true, 1, 'text', 'text', 10)).toMatchObject({ message: 'label_token_ids must be a nonempty list' });
    expect(scoreSemantics(true, [99, -1], 2, true, 1, 'text', 'text', 10)).toMatchObject({ message: 'label_token_ids must contain nonnegative integers' });
    expect(scoreSemantics(true, [99, 99], 2, true, 1, 'text', 'text', 10)).toMatchObject({ message: 'label_token_ids must not contain duplicate tokens' });
    expect(scoreSemantics(true, [10], 1, true, 1, 'text', 'text', 10)).toMatchObject({ kind: 'error', message: 'Token ID 10 is out of vocabulary (vocab size: 10)' });
    expect(scoreSemantics(true, [2n ** 63n], 1, true, 1, 'text', 'text', 10)).toMatchObject({ message: 'Token ID 9223372036854775808 is out of vocabulary (vocab size: 10)' });
    expect(scoreSemantics(true, [1], 1, true, 1, 'ids', 'text', 10)).toMatchObject({ kind: 'error', message: /Invalid combination/ });
    // An omitted query becomes "" or [] by the items' kind.
    expect(scoreSemantics(true, [1], 1, true, 1, 'none', 'text', 10)).toEqual({ kind: 'text' });
    expect(scoreSemantics(true, [1], 1, true, 1, 'none', 'ids', 10)).toEqual({ kind: 'ids' });
  });

  it('reports too-long inputs with the tokenizer-side message first', () => {
    expect(tooLongMessage(100, 100, 94)).toMatch(/longer than the model's context length \(100 tokens\)/);
    expect(tooLongMessage(95, 100, 94)).toMatch(/exceeds the maximum allowed length \(94 tokens\)/);
    expect(tooLongMessage(93, 100, 94)).toBeNull();
  });
});

describe("Python's repr, as pydantic prints inputs", () => {
  it('formats floats like float.__repr__', () => {
    expect([1.5, 1e16, 1e15, 0.0001, 0.00001, 1.8446744073709552e19, -0, 100000, 123456789.125].map(pyFloatRepr)).toEqual([
      '1.5',
      '1e+16',
      '1000000000000000.0',
      '0.0001',
      '1e-05',
      '1.8446744073709552e+19',
      '-0.0',
      '100000.0',
      '123456789.125',
    ]);
  });

  it('quotes strings like str.__repr__', () => {
    expect(pyStrRepr("it's")).toBe('"it\'s"');
    expect(pyStrRepr('say "hi"')).toBe("'say \"hi\"'");
    expect(pyStrRepr('both \' and "')).toBe("'both \\' and \"'");
    expect(pyStrRepr('a\nb\u0007\u2028é')).toBe("'a\\nb\\x07\\u2028é'");
  });
});

describe("SGLang's content-type rule", () => {
  it('is exact about the media type, and FastAPI 0.165 parses only JSON-ish bodies first', () => {
    expect(isSglangJsonContentType('application/json')).toBe(true);
    expect(isSglangJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isSglangJsonContentType('application/json ;x')).toBe(false);
    expect(isSglangJsonContentType(undefined)).toBe(false);
    expect(isSglangJsonContentType('text/plain')).toBe(false);
    expect(fastapiParsesJson(undefined)).toBe(false);
    expect(fastapiParsesJson('application/vnd.api+json')).toBe(true);
    expect(fastapiParsesJson('text/plain')).toBe(false);
    expect(CONTENT_TYPE_MESSAGE).toMatch(/^1 validation error:\n {2}\{'loc': \['header', 'content-type'\]/);
  });
});
