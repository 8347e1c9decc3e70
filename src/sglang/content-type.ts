const JSON_TYPE = 'application/json';

/**
 * SGLang's validate_json_request (srt/entrypoints/http_server.py:695-708 in 0.5.23): the
 * lowercased header up to the first ';' must be exactly "application/json" (no trimming, so
 * "application/json ;x" fails, and a missing header fails).
 */
export function isSglangJsonContentType(header: string | undefined): boolean {
  // What nearly every client sends, without the slices below (~90 B of heap per request).
  if (header === JSON_TYPE) return true;
  if (header === undefined) return false;
  const semi = header.indexOf(';');
  const media = (semi < 0 ? header : header.slice(0, semi)).toLowerCase();
  return media === 'application/json';
}

export { CONTENT_TYPE_MESSAGE } from './validation-error.js';

/**
 * Whether FastAPI 0.165 parses the body as JSON before that dependency runs
 * (fastapi/routing.py:472-486): only with an application/json or application/*+json media type.
 * With no header it does not parse (strict content type), so the content-type error wins. So a
 * bad body under a JSON-ish type is reported as invalid JSON, and any body under another type
 * as a content-type error.
 */
export function fastapiParsesJson(header: string | undefined): boolean {
  if (header === JSON_TYPE) return true;
  if (header === undefined || header === '') return false;
  const semi = header.indexOf(';');
  const media = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash < 0 || media.slice(0, slash) !== 'application') return false;
  const sub = media.slice(slash + 1);
  return sub === 'json' || sub.endsWith('+json');
}
