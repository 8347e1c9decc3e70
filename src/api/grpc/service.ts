import type { ServiceDefinition } from '@grpc/grpc-js';
import { METHOD_RANK, METHOD_SCORE, METHOD_SCORE_STREAM, lenientDecoder, pb } from './messages.js';

/**
 * The server side of scorecar.v1.Scorer for grpc-js: requests are decoded by the generated code
 * (leniently, see lenientDecoder); responses arrive already encoded (responses.ts), so their
 * serializer passes the bytes through. The client's definition is in src/client.
 */
const passThrough = (b: Buffer): Buffer => b;
const unused = (): never => {
  throw new Error('server-side definition: this direction is never used');
};

export const scorerServerDefinition: ServiceDefinition = {
  Score: {
    path: METHOD_SCORE,
    requestStream: false,
    responseStream: false,
    requestSerialize: unused,
    requestDeserialize: lenientDecoder((b) => pb.ScoreRequest.decode(b)),
    responseSerialize: passThrough,
    responseDeserialize: unused,
  },
  Rank: {
    path: METHOD_RANK,
    requestStream: false,
    responseStream: false,
    requestSerialize: unused,
    requestDeserialize: lenientDecoder((b) => pb.RankRequest.decode(b)),
    responseSerialize: passThrough,
    responseDeserialize: unused,
  },
  ScoreStream: {
    path: METHOD_SCORE_STREAM,
    requestStream: true,
    responseStream: true,
    requestSerialize: unused,
    requestDeserialize: lenientDecoder((b) => pb.ScoreStreamRequest.decode(b)),
    responseSerialize: passThrough,
    responseDeserialize: unused,
  },
};
