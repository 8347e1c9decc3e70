/**
 * scorecar's TypeScript gRPC client: ScorerClient for Score, Rank and ScoreStream, plus the
 * generated message namespace for building requests.
 */
export { ScorerClient, type RankResult, type RequestOptions, type ScorerClientOptions } from './scorer-client.js';
export { ScoreStream } from './score-stream.js';
export { ScorerError, packTokenIds, scoreRows, type ScoreResult, type Timing } from './codec.js';
export { Priority, pb, type RankRequestInit, type ScoreRequestInit } from '../api/grpc/messages.js';
