import { request } from 'undici';

/** What a target's /server_info says about the scorecar emulator behind it. */
export interface EmulatorInfo {
  profile: string | null;
}

/**
 * Asks the server behind a target URL whether it is the scorecar emulator: the emulator marks
 * its /server_info with `scorecar_emulator`, and scorecar passes /server_info through to its
 * backend, so this sees through the sidecar too. A report of a run against the emulator must say
 * "simulated" even when the operator forgot --simulated. null: not the emulator, or no answer.
 */
export async function detectEmulator(url: string, apiKey: string | null, timeoutMs = 3000): Promise<EmulatorInfo | null> {
  let origin: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    origin = u.origin;
  } catch {
    return null;
  }
  const headers: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  for (const path of ['/server_info', '/get_server_info']) {
    try {
      const res = await request(`${origin}${path}`, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.body.text();
      if (res.statusCode !== 200) continue;
      const info = JSON.parse(text) as { scorecar_emulator?: { profile?: unknown } };
      if (info.scorecar_emulator === undefined) return null;
      const profile = info.scorecar_emulator.profile;
      return { profile: typeof profile === 'string' ? profile : null };
    } catch {
      // Not JSON, refused or timed out: try the older path, then give up.
    }
  }
  return null;
}
