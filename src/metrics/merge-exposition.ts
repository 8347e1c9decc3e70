/**
 * Merges Prometheus text expositions from several backends into one, each sample labelled with
 * its backend. A metric family appears once (one HELP/TYPE), whatever the number of backends,
 * as the format requires.
 */
interface Family {
  help: string | null;
  type: string | null;
  samples: string[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The family a sample belongs to: histogram/summary suffixes fold into their base name. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return name;
}

function addLabel(sample: string, label: string): string {
  const brace = sample.indexOf('{');
  const space = sample.indexOf(' ');
  if (brace >= 0 && (space < 0 || brace < space)) {
    const close = sample.indexOf('}', brace);
    const inner = sample.slice(brace + 1, close);
    return `${sample.slice(0, brace + 1)}${label}${inner.trim() ? ',' + inner : ''}${sample.slice(close)}`;
  }
  return space < 0 ? sample : `${sample.slice(0, space)}{${label}}${sample.slice(space)}`;
}

export function mergeBackendMetrics(sources: Array<{ backend: string; text: string }>): string {
  const families = new Map<string, Family>();
  const order: string[] = [];
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { help: null, type: null, samples: [] };
      families.set(name, f);
      order.push(name);
    }
    return f;
  };
  for (const { backend, text } of sources) {
    const label = `backend="${escapeLabel(backend)}"`;
    for (const raw of text.split('\n')) {
      const line = raw.trimEnd();
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const f = family(meta[2] as string);
        if (meta[1] === 'HELP') f.help ??= meta[3] ?? '';
        else f.type ??= meta[3] ?? '';
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[^{\s]+/.exec(line)?.[0];
      if (!name) continue;
      family(familyOf(name, families)).samples.push(addLabel(line, label));
    }
  }
  const out: string[] = [];
  for (const name of order) {
    const f = families.get(name) as Family;
    if (f.samples.length === 0) continue;
    if (f.help !== null) out.push(`# HELP ${name} ${f.help}`);
    if (f.type !== null) out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.samples);
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}
