/**
 * Loaded with `node --import` before scorecar's main by bench:scanner: the same score-scanner
 * module instance then reads every id list in JavaScript, so the end-to-end comparison runs one
 * build with the WebAssembly reader on and off.
 */
import { useWasmIdScan } from '../../src/api/http/score-scanner.js';

useWasmIdScan(false);
