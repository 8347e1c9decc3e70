import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeBinding } from '../../src/mem/node-binding.js';

// The built modules (the test command builds first, as for every spawned process).
const dist = (path: string): string => fileURLToPath(new URL(`../../dist/src/mem/${path}`, import.meta.url));

describe('nodeBinding', () => {
  it("gives node's allow-listed bindings, and null for a name that is not one", () => {
    expect(typeof nodeBinding<{ copy: unknown }>('buffer')?.copy).toBe('function');
    expect(nodeBinding('no_such_binding')).toBeNull();
  });

  it('is null under --pending-deprecation or --throw-deprecation: the hot path takes the public API, with no DEP0111 warning', () => {
    const script = `
      const { copyPath } = await import(${JSON.stringify(dist('copy-bytes.js'))});
      const { handleWrites } = await import(${JSON.stringify(dist('socket-write.js'))});
      await new Promise((r) => setTimeout(r, 50));
      process.stdout.write(JSON.stringify({ copyPath, handleWrites }));
    `;
    for (const flags of [['--pending-deprecation'], ['--pending-deprecation', '--throw-deprecation'], []]) {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toMatch(/DEP0111/);
      const strict = flags.length > 0;
      expect(JSON.parse(r.stdout)).toEqual(strict ? { copyPath: 'Buffer#copy', handleWrites: false } : { copyPath: 'binding', handleWrites: true });
    }
  });
});
