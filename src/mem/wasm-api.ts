/** The slice of the WebAssembly API scorecar uses (tsconfig's libs carry no WebAssembly types). */
export interface WasmModule {
  readonly wasmModule: true;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
