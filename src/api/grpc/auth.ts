import { timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/**
 * scorecar's --api-key on gRPC: `authorization: Bearer KEY` metadata, like the HTTP API (scheme
 * case-insensitive, key compared in constant time). Health and reflection stay open, as /health
 * does over HTTP, so probes need no key.
 */
export class GrpcAuth {
  private readonly key: Buffer | null;

  constructor(apiKey: string | null) {
    this.key = apiKey ? Buffer.from(apiKey) : null;
  }

  allows(metadata: Metadata): boolean {
    if (this.key === null) return true;
    const v = metadata.get('authorization')[0];
    if (typeof v !== 'string') return false;
    const space = v.indexOf(' ');
    if (space <= 0 || v.slice(0, space).toLowerCase() !== 'bearer') return false;
    const given = Buffer.from(v.slice(space + 1));
    return given.length === this.key.length && timingSafeEqual(given, this.key);
  }
}
