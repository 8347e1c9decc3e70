/** Seeded test data: texts that stress tokenizers and joins, and score requests built from them. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PIECES = [
  'Senior', ' engineer', ' Python', 'developer', ' in', ' Zürich', ' remote', '\n', '\n\n', ' ', '  ', '\t', '\r\n',
  "'s", "'LL", 'don’t', ' 2024', '12345', '$180k', '-', '—', '•', '...', '!?', '(', ')', ':', 'é', 'e\u0301', '\u0301',
  'ß', 'İ', 'ı', 'ﬁ', 'Ａ', '机器学习', '工程师', 'カタカナ', '한국어', '\u1161', 'Привет', 'مرحبا', 'שלום', 'नमस्ते', 'ไทย',
  '🙂', '🚀', '👨‍👩‍👧', '🇨🇭', '1️⃣', '<|im_end|>', '<|im_start|>', '<think>', '<|im_', 'end|>', '\u200d', '\u00a0', '\u2028',
  '\u0085', 'https://jobs.example.com/a?b=1', 'x@example.com', 'C++/C#/.NET', 'yes', 'no',
];

export function randomText(rnd: () => number, maxPieces: number): string {
  const n = 1 + Math.floor(rnd() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)];
  return s;
}

/** A long, plausible item of about `words` words. */
export function longText(rnd: () => number, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) {
    parts.push(PIECES[Math.floor(rnd() * 24)] as string);
    if (rnd() < 0.05) parts.push('\n');
  }
  return parts.join('');
}

export function randomIds(rnd: () => number, maxLen: number, minLen = 1): number[] {
  const n = minLen + Math.floor(rnd() * (maxLen - minLen + 1));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(rnd() * 151643));
  return out;
}
