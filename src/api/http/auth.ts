import { timingSafeEqual } from 'node:crypto';
import type { HttpRequestView } from './exchange.js';
import type { RouteClass } from './route-class.js';

/**
 * What a passed-through request may do: whether it is let in at all, and whether scorecar has
 * authenticated it and so may put its own backend key on the forwarded call.
 */
export interface PassthroughAccess {
  allowed: boolean;
  /** The client showed the key this route needs: the backend key may be lent. */
  authenticated: boolean;
}

const DENY: PassthroughAccess = { allowed: false, authenticated: false };
const ANONYMOUS: PassthroughAccess = { allowed: true, authenticated: false };
const AUTHENTICATED: PassthroughAccess = { allowed: true, authenticated: true };

/**
 * Bearer-key checks like SGLang's: the scheme is case-insensitive, the key compared in constant
 * time. /health, /ready and /metrics stay open so probes and scrapers need no key, as in SGLang.
 * The admin key (--admin-api-key) defaults to the API key, as SGLang's admin routes fall back to
 * its api_key when no admin_api_key is set.
 */
export class Auth {
  private readonly apiKey: Buffer | null;
  private readonly adminKey: Buffer | null;

  constructor(apiKey: string | null, adminApiKey: string | null) {
    this.apiKey = apiKey ? Buffer.from(apiKey) : null;
    this.adminKey = adminApiKey ? Buffer.from(adminApiKey) : this.apiKey;
  }

  private static matches(req: HttpRequestView, key: Buffer): boolean {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const space = h.indexOf(' ');
    if (space <= 0 || h.slice(0, space).toLowerCase() !== 'bearer') return false;
    const given = Buffer.from(h.slice(space + 1));
    return given.length === key.length && timingSafeEqual(given, key);
  }

  private static open(path: string): boolean {
    return path.startsWith('/health') || path.startsWith('/ready') || path.startsWith('/metrics');
  }

  /** scorecar's own routes (scoring, its /health and /metrics). */
  allows(req: HttpRequestView, path: string): boolean {
    if (this.apiKey === null || req.method === 'OPTIONS') return true;
    if (Auth.open(path)) return true;
    return Auth.matches(req, this.apiKey);
  }

  /** scorecar's /scorecar/ admin routes. */
  allowsAdmin(req: HttpRequestView): boolean {
    return this.adminKey === null || Auth.matches(req, this.adminKey);
  }

  /**
   * A passed-through route of class `cls`: normal routes need the API key, SGLang's admin routes
   * the admin key; without the key configured the request goes on anonymously (the client's own
   * Authorization is forwarded, the backend key never added). Open routes are always anonymous.
   */
  passthrough(req: HttpRequestView, cls: RouteClass): PassthroughAccess {
    if (cls === 'open' || req.method === 'OPTIONS') return ANONYMOUS;
    const key = cls === 'admin' ? this.adminKey : this.apiKey;
    if (key === null) return ANONYMOUS;
    return Auth.matches(req, key) ? AUTHENTICATED : DENY;
  }
}
