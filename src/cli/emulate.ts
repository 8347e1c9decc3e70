import { parseEmulateConfig } from '../config/emulate-config.js';
import { EMULATE_OPTIONS } from '../config/emulate-config.js';
import { usage } from '../config/options.js';
import { startEmulator } from '../emulator/server.js';
import { createLogger } from '../observe/logger.js';

/** `scorecar emulate`: a simulated SGLang server. Stays up until SIGINT/SIGTERM. */
export async function runEmulate(argv: string[]): Promise<number> {
  const cfg = parseEmulateConfig(argv);
  if (cfg.help) {
    console.log(usage('emulate', EMULATE_OPTIONS));
    return 0;
  }
  const { help: _help, logLevel, ...options } = cfg;
  const log = createLogger(logLevel, undefined, 'scorecar-emulate');
  const emu = await startEmulator(options);
  const mis = options.mis?.kind === 'enable_mis' ? ', multi-item scoring (enable_mis)' : options.mis?.kind === 'delimiter' ? `, multi-item scoring (delimiter ${options.mis.tokenId})` : '';
  // The URL is followed by a space in the message (and is its own field): scripts that find it
  // with /listening on (http:\/\/\S+)/ in the JSON line keep working.
  log.info({ url: emu.url, profile: options.profile }, `SGLang EMULATOR listening on ${emu.url} (simulated GPU, profile ${options.profile}${mis})`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping');
  await emu.close();
  return 0;
}
