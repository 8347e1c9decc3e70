import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QWEN3_TOKENIZER_SHA256, defaultTokenizerPath, loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';

describe('the bundled Qwen3 tokenizer file', () => {
  it('is the pinned tokenizer.json (sha256 and size)', () => {
    const f = loadTokenizerFiles();
    expect(f.sha256).toBe(QWEN3_TOKENIZER_SHA256);
    expect(f.path).toBe(defaultTokenizerPath());
    expect(Object.keys((f.tokenizerJson.model as { vocab: object }).vocab).length).toBe(151643);
  });

  it('is refused when it drifts from the pinned hash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scorecar-tok-'));
    const path = join(dir, 'tokenizer.json');
    copyFileSync(defaultTokenizerPath(), path);
    writeFileSync(path, '{"drifted": true}');
    expect(() => loadTokenizerFiles(path, QWEN3_TOKENIZER_SHA256)).toThrow(/sha256/);
    expect(loadTokenizerFiles(path, null).tokenizerJson).toEqual({ drifted: true });
  });
});
