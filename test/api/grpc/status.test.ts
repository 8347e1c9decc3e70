import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { MalformedMessage, lenientDecoder, pb } from '../../../src/api/grpc/messages.js';
import { GrpcRequestError, Unauthenticated, failureStatus, serviceError } from '../../../src/api/grpc/status.js';
import { RankRequestError } from '../../../src/api/rank-request.js';
import { RequestOptionError } from '../../../src/api/request-options.js';
import { BackendUnavailable, BadGateway, UpstreamError } from '../../../src/backend/errors.js';
import { DeadlineExceededInFlight, ShaperRefused } from '../../../src/control/shaper-errors.js';
import { ScoreError } from '../../../src/pipeline/errors.js';
import { CancelledError } from '../../../src/mem/cancel-scope.js';

describe('failureStatus', () => {
  it('maps every failure class to the status the proto documents', () => {
    const upstream = (status: number, body: string): UpstreamError => new UpstreamError(status, Buffer.from(body), 'application/json');
    const cases: Array<[unknown, Status, RegExp, number | null]> = [
      [new ScoreError(400, 'Too many items: 3 > 2', 'BadRequestError'), Status.INVALID_ARGUMENT, /Too many items/, null],
      [new GrpcRequestError('item_packed_ids: bad'), Status.INVALID_ARGUMENT, /item_packed_ids/, null],
      [new RankRequestError('duplicate item id "a"'), Status.INVALID_ARGUMENT, /duplicate/, null],
      [new RequestOptionError('priority must be "online" or "nearline"'), Status.INVALID_ARGUMENT, /priority/, null],
      [new MalformedMessage('malformed protobuf message: index out of range'), Status.INVALID_ARGUMENT, /malformed/, null],
      [new Unauthenticated(), Status.UNAUTHENTICATED, /Bearer/, null],
      [new ShaperRefused('deadline', 2, 'online'), Status.RESOURCE_EXHAUSTED, /before its deadline/, 2],
      [new ShaperRefused('queue-full', 1, 'nearline'), Status.RESOURCE_EXHAUSTED, /queue is full/, 1],
      [new ShaperRefused('closed', 1, 'online'), Status.UNAVAILABLE, /closed/, 1],
      [new DeadlineExceededInFlight(12), Status.DEADLINE_EXCEEDED, /deadline while being scored/, null],
      [new BackendUnavailable('no healthy SGLang backend'), Status.UNAVAILABLE, /no healthy/, 1],
      [new BadGateway('connection reset'), Status.UNAVAILABLE, /bad gateway: connection reset/, null],
      [upstream(400, '{"object":"error","message":"The input (9000 tokens) is longer","code":400}'), Status.INVALID_ARGUMENT, /backend answered 400: The input/, null],
      [upstream(503, '{"error":{"message":"overloaded"}}'), Status.UNAVAILABLE, /overloaded/, null],
      [upstream(500, 'Internal Server Error'), Status.INTERNAL, /Internal Server Error/, null],
      [upstream(401, '{"error":"Unauthorized"}'), Status.INTERNAL, /401/, null],
      [new TypeError('boom'), Status.INTERNAL, /boom/, null],
    ];
    for (const [e, code, details, retry] of cases) {
      const f = failureStatus(e);
      expect(f, String(e)).not.toBeNull();
      expect(f!.code, String(e)).toBe(code);
      expect(f!.details).toMatch(details);
      expect(f!.retryAfterS).toBe(retry);
      const err = serviceError(f!);
      expect(err.metadata.get('retry-after')).toEqual(retry === null ? [] : [String(retry)]);
    }
  });

  it('answers nothing when the client went away', () => {
    expect(failureStatus(new CancelledError(), true)).toBeNull();
    // Cancelled inside scorecar while the client still waits: it still gets an answer.
    expect(failureStatus(new CancelledError(), false)).toMatchObject({ code: Status.UNAVAILABLE, retryAfterS: 1 });
  });

  it('turns undecodable bytes into a value the handler answers INVALID_ARGUMENT', () => {
    const decode = lenientDecoder((b) => pb.ScoreRequest.decode(b));
    expect(decode(Buffer.from([0x0a, 0x7f, 0x01]))).toBeInstanceOf(MalformedMessage);
    expect(decode(Buffer.from(pb.ScoreRequest.encode({ queryText: 'q' }).finish()))).toMatchObject({ queryText: 'q' });
  });
});
