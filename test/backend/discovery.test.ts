import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendDiscovery, parseBackendFile, parseDnsTarget } from '../../src/backend/discovery.js';

const dir = mkdtempSync(join(tmpdir(), 'scorecar-discovery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('discovery sources', () => {
  it('parses --backend-dns as host:port or URL, and says what is wrong', () => {
    expect(parseDnsTarget('sglang:30000')).toEqual({ scheme: 'http', host: 'sglang', port: 30000 });
    expect(parseDnsTarget('http://sglang.scorecar.svc.cluster.local:30000')).toEqual({ scheme: 'http', host: 'sglang.scorecar.svc.cluster.local', port: 30000 });
    expect(parseDnsTarget('https://x:1')).toMatchObject({ scheme: 'https' });
    expect(() => parseDnsTarget('sglang')).toThrow(/needs a port/);
    expect(() => parseDnsTarget('http://sglang:1/v1')).toThrow(/no path/);
    expect(() => parseDnsTarget('ftp://sglang:1')).toThrow(/http/);
  });

  it('reads a backend file: one URL a line, comments and blanks skipped, bad lines named', () => {
    expect(parseBackendFile('# fleet\nhttp://a:1/\n\n  http://b:2  # second\n', 'f')).toEqual(['http://a:1', 'http://b:2']);
    expect(() => parseBackendFile('http://a:1\nnot a url\n', 'f')).toThrow(/f:2: not a URL/);
    expect(() => parseBackendFile('file:///etc/passwd\n', 'f')).toThrow(/f:1: must be http/);
  });

  it('unions flags, file and DNS; follows file edits and DNS answers; keeps the last good answer on failure', async () => {
    const file = join(dir, 'backends.txt');
    writeFileSync(file, 'http://10.0.0.9:1\n');
    let answer: string[] | Error = ['10.0.0.1', 'fd00::2'];
    const seen: string[][] = [];
    const d = new BackendDiscovery({
      static: ['http://static:1'],
      file,
      dns: [parseDnsTarget('sglang:30000')],
      intervalMs: 50,
      resolver: (host) => {
        expect(host).toBe('sglang');
        return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
      },
      onChange: (urls) => {
        seen.push(urls);
        return Promise.resolve();
      },
    });
    await d.start();
    try {
      expect(seen.at(-1)).toEqual(['http://10.0.0.1:30000', 'http://10.0.0.9:1', 'http://[fd00::2]:30000', 'http://static:1']);
      answer = ['10.0.0.1'];
      await until(() => !(seen.at(-1) as string[]).includes('http://[fd00::2]:30000'));
      answer = new Error('SERVFAIL');
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.at(-1)).toContain('http://10.0.0.1:30000'); // an outage keeps the fleet
      // An atomic replace of the file, as editors and ConfigMaps do.
      writeFileSync(join(dir, 'tmp'), 'http://10.0.0.8:1\n');
      renameSync(join(dir, 'tmp'), file);
      await until(() => (seen.at(-1) as string[]).includes('http://10.0.0.8:1'));
      expect(seen.at(-1)).not.toContain('http://10.0.0.9:1');
      writeFileSync(file, 'garbage\n');
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.at(-1)).toContain('http://10.0.0.8:1'); // a broken edit keeps the last good list
    } finally {
      d.stop();
    }
  });
});
