import { readFileSync } from 'node:fs';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { service as healthService } from 'grpc-health-check';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor.js';
import { SERVICE_NAME } from './messages.js';

/** The contract's path in proto/, which reflection clients see as the file name. */
const PROTO_FILE = 'scorecar/v1/scorer.proto';

/**
 * The Scorer's FileDescriptorProto, built from the JSON descriptor `npm run proto` generates next
 * to the static code (no .proto parsing at run time). @grpc/reflection takes a proto-loader
 * package definition, of which it reads only the encoded file descriptors.
 */
export function scorerFileDescriptor(): Uint8Array {
  const json = JSON.parse(readFileSync(new URL('./generated/scorer.json', import.meta.url), 'utf8')) as protobuf.INamespace;
  const set = protobuf.Root.fromJSON(json).toDescriptor('proto3');
  const files = set.file ?? [];
  if (files.length !== 1) throw new Error(`expected one file descriptor for ${SERVICE_NAME}, got ${files.length}`);
  const file = files[0] as protobuf.Message & { name?: string | null };
  file.name = PROTO_FILE;
  return (file.constructor as typeof protobuf.Message).encode(file).finish();
}

/** Adds grpc.reflection.v1 and v1alpha describing the Scorer and grpc.health.v1.Health. */
export function addReflection(server: Server): void {
  const pkg: Record<string, { fileDescriptorProtos: Buffer[] }> = { [SERVICE_NAME]: { fileDescriptorProtos: [Buffer.from(scorerFileDescriptor())] } };
  // The health package loaded its proto with proto-loader, whose definitions carry the descriptor.
  const health = (healthService.Check?.requestType as { fileDescriptorProtos?: Buffer[] } | undefined)?.fileDescriptorProtos;
  if (health) pkg['grpc.health.v1.Health'] = { fileDescriptorProtos: health };
  new ReflectionService(pkg as unknown as ConstructorParameters<typeof ReflectionService>[0]).addToServer(server);
}
