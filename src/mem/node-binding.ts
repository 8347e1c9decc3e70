/**
 * One of node's allow-listed internal bindings (process.binding), or null.
 *
 * The hot path reaches two of them where node's public API allocates per call (src/mem/socket-write.ts,
 * src/mem/copy-bytes.ts); both fall back to the public API when this returns null. process.binding is
 * deprecated in documentation only (DEP0111): it warns under --pending-deprecation, and that warning
 * throws on a later tick under --throw-deprecation, out of reach of any try here. A process run with
 * either asked for strictness, so it gets null and the public paths, with no warning.
 */
export function nodeBinding<T>(name: string): Partial<T> | null {
  const strict =
    process.execArgv.includes('--pending-deprecation') ||
    process.env.NODE_PENDING_DEPRECATION === '1' ||
    (process as { throwDeprecation?: boolean }).throwDeprecation === true ||
    /(^|\s)--(pending|throw)-deprecation\b/.test(process.env.NODE_OPTIONS ?? '');
  if (strict) return null;
  try {
    const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof binding !== 'function') return null;
    const b = binding.call(process, name);
    return typeof b === 'object' && b !== null ? (b as Partial<T>) : null;
  } catch {
    return null;
  }
}
