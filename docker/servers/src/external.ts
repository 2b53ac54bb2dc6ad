import type { StartTimings, ThrowawayServer } from './types.js';

export interface ParsedUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Parses a `postgres://` or `mysql://` URL, filling in the server's defaults for what it leaves out. */
export function parseServerUrl(
  url: string,
  variable: string,
  defaults: { readonly port: number; readonly user: string; readonly database: (user: string) => string },
): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${variable} is not a valid URL (expected e.g. scheme://user:password@host:port/database)`);
  }
  const user = decodeURIComponent(parsed.username) || defaults.user;
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? defaults.port : Number(parsed.port),
    user,
    password: decodeURIComponent(parsed.password),
    database: database === '' ? defaults.database(user) : database,
  };
}

/** A handle on a server named by an environment variable: nothing to start, stop, restart or kill. */
export class ExternalServer implements Omit<ThrowawayServer, 'kind'> {
  readonly external = true;
  readonly dataDir = undefined;
  readonly tempDir = undefined;
  readonly logFile = undefined;
  readonly pid = undefined;
  readonly running = true;
  readonly timings: StartTimings = { initMs: 0, startMs: 0 };
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;

  constructor(
    readonly url: string,
    parsed: ParsedUrl,
    private readonly variable: string,
    private readonly label: string,
  ) {
    this.host = parsed.host;
    this.port = parsed.port;
    this.user = parsed.user;
    this.password = parsed.password;
    this.database = parsed.database;
  }

  readLog(): Promise<string> {
    return Promise.resolve('');
  }

  /** Leaves the external server running. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  restart(): Promise<void> {
    return Promise.reject(this.unsupported('restart'));
  }

  kill(): Promise<void> {
    return Promise.reject(this.unsupported('kill'));
  }

  private unsupported(operation: string): Error {
    return new Error(
      `${operation}() needs a throwaway ${this.label} server, but this one comes from ${this.variable}; ` +
        'check `external` and skip, or start one with { useEnv: false }',
    );
  }
}
