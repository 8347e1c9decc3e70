import type { BackendInfo } from '../../src/backend/server-info.js';

/** A discovered backend's identity for unit tests: a single-item Qwen3 server, with overrides. */
export function backendInfo(over: Partial<BackendInfo> = {}): BackendInfo {
  return {
    mode: 'single',
    misFlavor: null,
    maxReqInputLen: 4000,
    contextLength: 4096,
    modelPath: 'Qwen/Qwen3-0.6B',
    weightVersion: 'default',
    scoreEndpointContext: null,
    vocabSize: null,
    version: 'x',
    patches: null,
    emulator: false,
    ...over,
  };
}
