/**
 * The Scorer's messages as protobufjs static code, generated from proto/scorecar/v1/scorer.proto
 * by `npm run proto` (part of the build): no .proto is parsed at run time. This module gives the
 * generated namespace short names for the server and the client.
 */
import { scorecar } from './generated/scorer.js';

export const pb = scorecar.v1;

export type ScoreRequestMsg = scorecar.v1.ScoreRequest.$Shape;
export type RankRequestMsg = scorecar.v1.RankRequest.$Shape;
export type RankItemMsg = scorecar.v1.RankItem.$Shape;
export type JobFieldsMsg = scorecar.v1.JobFields.$Shape;
export type ScoreStreamRequestMsg = scorecar.v1.ScoreStreamRequest.$Shape;
export type ScoreResponseMsg = scorecar.v1.ScoreResponse.$Shape;
export type RankResponseMsg = scorecar.v1.RankResponse.$Shape;
export type ScoreStreamResponseMsg = scorecar.v1.ScoreStreamResponse.$Shape;
export type TimingMsg = scorecar.v1.Timing.$Shape;

export type ScoreRequestInit = scorecar.v1.ScoreRequest.$Properties;
export type RankRequestInit = scorecar.v1.RankRequest.$Properties;
export type ScoreStreamRequestInit = scorecar.v1.ScoreStreamRequest.$Properties;
export type RankResponseInit = scorecar.v1.RankResponse.$Properties;

export const Priority = scorecar.v1.Priority;

export const SERVICE_NAME = 'scorecar.v1.Scorer';
export const METHOD_SCORE = `/${SERVICE_NAME}/Score`;
export const METHOD_RANK = `/${SERVICE_NAME}/Rank`;
export const METHOD_SCORE_STREAM = `/${SERVICE_NAME}/ScoreStream`;

/** A request whose bytes are not a valid message: answered INVALID_ARGUMENT by the handler. */
export class MalformedMessage {
  constructor(readonly message: string) {}
}

/**
 * Wraps a generated decoder so that bad bytes reach the handler as a value: grpc-js would
 * otherwise answer a throwing deserializer with INTERNAL, which blames the server.
 */
export function lenientDecoder<T>(decode: (b: Uint8Array) => T): (b: Buffer) => T | MalformedMessage {
  return (b) => {
    try {
      return decode(b);
    } catch (e) {
      return new MalformedMessage(`malformed protobuf message: ${(e as Error).message}`);
    }
  };
}
