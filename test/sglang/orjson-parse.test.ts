import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { orjsonParse } from '../../src/sglang/orjson-parse.js';
import { pyRepr } from '../../src/sglang/py-repr.js';

interface Vector {
  in: string;
  ok: boolean;
  repr?: string;
  pos?: number;
  msg?: string;
}

const file = JSON.parse(readFileSync(new URL('../fixtures/sglang-0.5.23/orjson-vectors.json', import.meta.url), 'utf8')) as {
  orjson: string;
  vectors: Vector[];
};

describe(`orjsonParse against the real orjson ${file.orjson} (vectors from test/fixtures/orjson-vectors.py)`, () => {
  it(`gives orjson's value (as Python's repr) or its error and character position for all ${file.vectors.length} inputs`, () => {
    const wrong: string[] = [];
    for (const v of file.vectors) {
      const input = Buffer.from(v.in, 'base64');
      const r = orjsonParse(input);
      const got = r.ok ? `ok ${pyRepr(r.value)}` : `err ${r.pos} ${r.msg}`;
      const want = v.ok ? `ok ${v.repr}` : `err ${v.pos} ${v.msg}`;
      if (got !== want) wrong.push(`${JSON.stringify(input.toString('latin1').slice(0, 80))}\n   got  ${got.slice(0, 200)}\n   want ${want.slice(0, 200)}`);
    }
    expect(wrong.slice(0, 40).join('\n'), `${wrong.length} of ${file.vectors.length} differ`).toBe('');
  });
});
