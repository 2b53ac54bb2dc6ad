import { ConfigError } from '@highwater/core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';

/**
 * Connection options from the sink's `url`: one or more comma-separated `nats://` (or `tls://`)
 * addresses; credentials in the first one's user part (`user:password@` or `token@`) become the
 * `user`/`pass` or `token` option, so they are never part of a server address that is logged.
 */
export function connectOptionsFromUrl(url: string, name: string): NodeConnectionOptions {
  const servers: string[] = [];
  let credentials: Pick<NodeConnectionOptions, 'user' | 'pass' | 'token'> = {};
  for (const [i, part] of url.split(',').entries()) {
    const text = part.trim();
    let parsed: URL;
    try {
      parsed = new URL(/^[a-z]+:\/\//i.test(text) ? text : `nats://${text}`);
    } catch {
      throw new ConfigError(
        `sink.url: ${JSON.stringify(redact(text))} is not a NATS address; expected nats://host:4222 (several separated by commas)`,
      );
    }
    if (!['nats:', 'tls:'].includes(parsed.protocol)) {
      throw new ConfigError(`sink.url: use nats:// or tls:// addresses, not ${parsed.protocol}//`);
    }
    if (i === 0 && parsed.username !== '') {
      const user = decodeURIComponent(parsed.username);
      credentials = parsed.password === '' ? { token: user } : { user, pass: decodeURIComponent(parsed.password) };
    }
    servers.push(`${parsed.protocol}//${parsed.host}`);
  }
  return { servers, name, ...credentials, tls: servers.some((s) => s.startsWith('tls:')) ? {} : undefined };
}

/** The URL with its credentials hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/g, '//***@');
}
