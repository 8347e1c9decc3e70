/**
 * A parser for the Prometheus text exposition format (version 0.0.4), enough for scraping
 * prom-client and SGLang: comments are skipped, label values may carry the three escapes, values
 * may be +Inf/-Inf/NaN, and a trailing timestamp is ignored.
 */

export interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      out.push(parseSampleLine(line));
    } catch (e) {
      throw new Error(`metrics line ${lineNo}: ${(e as Error).message}: ${line.slice(0, 120)}`);
    }
  }
  return out;
}

function parseSampleLine(line: string): PromSample {
  NAME.lastIndex = 0;
  const m = NAME.exec(line);
  if (!m) throw new Error('expected a metric name');
  const name = m[0];
  let i = m[0].length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      LABEL_NAME.lastIndex = i;
      const ln = LABEL_NAME.exec(line);
      if (!ln) throw new Error('expected a label name');
      i += ln[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error('expected ="');
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) throw new Error('unterminated label value');
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const e = line[i + 1];
          value += e === 'n' ? '\n' : e === '"' ? '"' : e === '\\' ? '\\' : `\\${e ?? ''}`;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      labels[ln[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const v = rest[0];
  if (v === undefined || v === '') throw new Error('missing value');
  return { name, labels, value: parseValue(v) };
}

function parseValue(v: string): number {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  // prom-client writes NaN as "Nan"; accept any case.
  if (v.toLowerCase() === 'nan') return NaN;
  const n = Number(v);
  if (Number.isNaN(n)) throw new Error(`bad value "${v}"`);
  return n;
}

/**
 * Sum of every series of one metric, skipping series that carry `excludeLabel` (scorecar appends
 * its backends' metrics labelled by backend; those are SGLang's process, not scorecar's).
 * null when no series matched.
 */
export function sumMetric(samples: readonly PromSample[], name: string, excludeLabel: string | null): number | null {
  let sum: number | null = null;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (excludeLabel !== null && excludeLabel in s.labels) continue;
    sum = (sum ?? 0) + s.value;
  }
  return sum;
}
