/**
 * scorecar as a library: start the sidecar or the emulator in-process, and call a scorecar's
 * gRPC API. The CLI (`scorecar serve|emulate|bench`) is built from the same pieces.
 */
export { startSidecar, type RunningSidecar } from './sidecar.js';
export { parseServeConfig, type ServeConfig } from './config/serve-config.js';
export { startEmulator, type RunningEmulator } from './emulator/server.js';
export type { EmulatorOptions, MisMode } from './emulator/options.js';
export { PROFILE_NAMES, profileCost } from './emulator/profiles.js';
export * from './client/index.js';
