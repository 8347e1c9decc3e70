import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Bearer-key checks like SGLang's: the scheme is case-insensitive, the key compared in constant
 * time. /health and /metrics stay open so probes and scrapers need no key, as in SGLang.
 */
export class Auth {
  private readonly apiKey: Buffer | null;
  private readonly adminKey: Buffer | null;

  constructor(apiKey: string | null, adminApiKey: string | null) {
    this.apiKey = apiKey ? Buffer.from(apiKey) : null;
    this.adminKey = adminApiKey ? Buffer.from(adminApiKey) : this.apiKey;
  }

  private static matches(req: IncomingMessage, key: Buffer): boolean {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const space = h.indexOf(' ');
    if (space <= 0 || h.slice(0, space).toLowerCase() !== 'bearer') return false;
    const given = Buffer.from(h.slice(space + 1));
    return given.length === key.length && timingSafeEqual(given, key);
  }

  allows(req: IncomingMessage, path: string): boolean {
    if (this.apiKey === null || req.method === 'OPTIONS') return true;
    if (path.startsWith('/health') || path.startsWith('/metrics')) return true;
    return Auth.matches(req, this.apiKey);
  }

  allowsAdmin(req: IncomingMessage): boolean {
    return this.adminKey === null || Auth.matches(req, this.adminKey);
  }
}
