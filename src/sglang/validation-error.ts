import { type PydanticError, errorRepr } from './pydantic.js';

/**
 * The message of SGLang's 400 for a RequestValidationError (validation_exception_handler,
 * srt/entrypoints/http_server.py:635-692 in 0.5.23): `f"{exc_str} {errors_str}"`, where exc_str is
 * FastAPI 0.165's ValidationException.__str__ (fastapi/exceptions.py:193-209: "N validation
 * error(s):", one line per error, then the endpoint's file, line and route) and errors_str is
 * str(exc.errors()).
 */

/**
 * Where FastAPI says the /v1/score endpoint lives. The file path is the backend's install path,
 * so scorecar reads it from the backend when it can (backend/validation-context.ts); this is
 * the pinned release's line with the path of SGLang's official image.
 */
export const DEFAULT_SCORE_ENDPOINT_CONTEXT =
  '\n  File "/sgl-workspace/sglang/python/sglang/srt/entrypoints/http_server.py", line 2050, in v1_score_request\n    POST /v1/score';

/** SGLang's messages repeat every input; past this size scorecar cuts them (bounded memory). */
export const MAX_MESSAGE_CHARS = 1 << 20;

function cap(s: string): string {
  return s.length <= MAX_MESSAGE_CHARS ? s : s.slice(0, MAX_MESSAGE_CHARS) + '... (cut by scorecar)';
}

function compose(reprs: string[], endpointContext: string, n = reprs.length): string {
  let head = `${n} validation error${n === 1 ? '' : 's'}:\n`;
  let size = head.length;
  for (const r of reprs) {
    head += `  ${r}\n`;
    size += r.length;
    if (size > MAX_MESSAGE_CHARS) break;
  }
  const excStr = (head + endpointContext).trimEnd();
  const errorsStr = `[${reprs.join(', ')}]`;
  return cap(errorsStr !== excStr ? `${excStr} ${errorsStr}` : excStr);
}

export function validationMessage(errors: PydanticError[], endpointContext: string): string {
  // Each error's repr is bounded by what is left of the message, so a huge input costs no more
  // than the message it can appear in.
  const reprs: string[] = [];
  let left = MAX_MESSAGE_CHARS;
  for (const e of errors) {
    if (left <= 0) break;
    const r = errorRepr(e, left);
    reprs.push(r);
    left -= r.length;
  }
  return compose(reprs, endpointContext, errors.length);
}

/** FastAPI's json_invalid error for a body orjson refused (fastapi/routing.py:488-501). */
export function jsonInvalidError(pos: number, orjsonMessage: string): PydanticError {
  return { type: 'json_invalid', loc: ['body', pos], msg: 'JSON decode error', input: new Map(), ctx: `{'error': ${reprText(orjsonMessage)}}` };
}

/** An empty body is not parsed at all; the body parameter is missing. */
export const MISSING_BODY_ERROR: PydanticError = { type: 'missing', loc: ['body'], msg: 'Field required', input: null };

/** The error validate_json_request raises (http_server.py:695-708): a plain dict, no endpoint. */
const CONTENT_TYPE_ERROR =
  "{'loc': ['header', 'content-type'], 'msg': \"Unsupported Media Type: Only 'application/json' is allowed\", 'type': 'value_error'}";

export const CONTENT_TYPE_MESSAGE = compose([CONTENT_TYPE_ERROR], '');

function reprText(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  return quote + s + quote;
}
