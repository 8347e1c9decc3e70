import { parseEmulateConfig } from '../config/emulate-config.js';
import { EMULATE_OPTIONS } from '../config/emulate-config.js';
import { usage } from '../config/options.js';
import { startEmulator } from '../emulator/server.js';

/** `scorecar emulate`: a simulated SGLang server. Stays up until SIGINT/SIGTERM. */
export async function runEmulate(argv: string[]): Promise<number> {
  const cfg = parseEmulateConfig(argv);
  if (cfg.help) {
    console.log(usage('emulate', EMULATE_OPTIONS));
    return 0;
  }
  const { help: _help, ...options } = cfg;
  const emu = await startEmulator(options);
  const mis = options.mis?.kind === 'enable_mis' ? ', multi-item scoring (enable_mis)' : options.mis?.kind === 'delimiter' ? `, multi-item scoring (delimiter ${options.mis.tokenId})` : '';
  console.log(`scorecar emulate: SGLang EMULATOR (simulated GPU, profile ${options.profile}${mis}) listening on ${emu.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await emu.close();
  return 0;
}
