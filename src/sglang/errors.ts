/**
 * SGLang's error bodies (0.5.23). /v1/score and the OpenAI-style routes use the flat ErrorResponse
 * (srt/entrypoints/openai/protocol.py:106-111) whose `type` depends on where the error was
 * raised; native routes (/generate) use {"error":{"message"}}.
 */

/** Pydantic / content-type failures: validation_exception_handler (http_server.py:684-692). */
export const TYPE_VALIDATION = 'Bad Request';
/** ValueError raised by the scoring code (serving_base.py:205-220, create_error_response's default type). */
export const TYPE_BAD_REQUEST = 'BadRequestError';
export const TYPE_INTERNAL = 'InternalServerError';

export interface ErrorEnvelope {
  object: 'error';
  message: string;
  type: string;
  param: string | null;
  code: number;
}

export function errorEnvelope(message: string, type: string, code: number): ErrorEnvelope {
  return { object: 'error', message, type, param: null, code };
}

export function errorEnvelopeJson(message: string, type: string, code: number): string {
  return JSON.stringify(errorEnvelope(message, type, code));
}

/** The body of a native-route error (/generate). */
export function nativeErrorJson(message: string): string {
  return JSON.stringify({ error: { message } });
}

/** FastAPI's own 404/405 bodies, which SGLang does not override. */
export const NOT_FOUND_JSON = '{"detail":"Not Found"}';
export const METHOD_NOT_ALLOWED_JSON = '{"detail":"Method Not Allowed"}';
export const UNAUTHORIZED_JSON = '{"error":"Unauthorized"}';
