/** Whether a cache spec names a Redis-protocol server (Redis or Valkey, plain or TLS). */
export function isRedisSpec(spec: string): boolean {
  return /^(redis|rediss|valkey|valkeys):\/\//i.test(spec);
}

/**
 * The URL ioredis understands for a cache spec: Valkey speaks the Redis protocol, so
 * valkey://host:port[/db] is redis://host:port[/db] (valkeys:// is rediss://, i.e. TLS).
 */
export function toRedisUrl(spec: string): string {
  return spec.replace(/^valkey(s?):\/\//i, (_m: string, tls: string) => `redis${tls}://`);
}

/** A URL fit for logs: the password, if any, replaced. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_m: string, auth: string) => `//${auth.includes(':') ? auth.slice(0, auth.indexOf(':')) + ':***' : '***'}@`);
}
