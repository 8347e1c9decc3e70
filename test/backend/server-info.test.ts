import { describe, expect, it } from 'vitest';
import { parseBackendInfo } from '../../src/backend/server-info.js';

describe('backend protocol detection from /server_info', () => {
  it("picks MIS from today's enable_mis flag", () => {
    const i = parseBackendInfo({ enable_mis: true, max_req_input_len: 20474, context_length: 40960, version: '0.5' }, { model_path: 'Qwen/Qwen3-0.6B', weight_version: 'v2' });
    expect(i).toMatchObject({ mode: 'mis', misFlavor: 'enable_mis', maxReqInputLen: 20474, modelPath: 'Qwen/Qwen3-0.6B', weightVersion: 'v2' });
  });

  it('picks MIS from the older delimiter flag, and single-item otherwise', () => {
    expect(parseBackendInfo({ multi_item_scoring_delimiter: 151662 }, null)).toMatchObject({ mode: 'mis', misFlavor: 'delimiter' });
    expect(parseBackendInfo({ multi_item_scoring_delimiter: null }, null)).toMatchObject({ mode: 'single', misFlavor: null });
    expect(parseBackendInfo({ enable_mis: false }, null).mode).toBe('single');
  });

  it('reads scorecar_patches and the emulator label', () => {
    const i = parseBackendInfo({ scorecar_patches: { exact_prefix: true, label_head: false }, scorecar_emulator: { profile: 'zero' } }, null);
    expect(i.patches).toEqual({ exactPrefix: true, labelHead: false });
    expect(i.emulator).toBe(true);
  });
});

describe('the embedding-table size from /model_info', () => {
  it('is read when the backend reports vocab_size, and null otherwise (real SGLang 0.5.23)', () => {
    expect(parseBackendInfo({}, { model_path: 'm', vocab_size: 151936 }).vocabSize).toBe(151936);
    expect(parseBackendInfo({}, { model_path: 'm' }).vocabSize).toBeNull();
    expect(parseBackendInfo({}, null).vocabSize).toBeNull();
    expect(parseBackendInfo({}, { vocab_size: 'big' }).vocabSize).toBeNull();
    expect(parseBackendInfo({}, { vocab_size: -3 }).vocabSize).toBeNull();
  });
});
