/**
 * SGLang's validate_json_request: the lowercased header up to the first ';' must be exactly
 * "application/json" (no trimming, so "application/json ;x" fails, and a missing header fails).
 */
export function isSglangJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const semi = header.indexOf(';');
  const media = (semi < 0 ? header : header.slice(0, semi)).toLowerCase();
  return media === 'application/json';
}

/** The message SGLang's handler builds for that failure (pydantic error list repr). */
export const CONTENT_TYPE_MESSAGE =
  "[{'loc': ['header', 'content-type'], 'msg': \"Unsupported Media Type: Only 'application/json' is allowed\", 'type': 'value_error'}]";

/**
 * Whether FastAPI parses the body as JSON before SGLang's content-type check runs: with no
 * header, or with an application/json or application/*+json media type. So a bad body under a
 * JSON-ish type is reported as invalid JSON, and a good one under the wrong type as a type error.
 */
export function fastapiParsesJson(header: string | undefined): boolean {
  if (header === undefined || header === '') return true;
  const semi = header.indexOf(';');
  const media = (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash < 0 || media.slice(0, slash) !== 'application') return false;
  const sub = media.slice(slash + 1);
  return sub === 'json' || sub.endsWith('+json');
}
