import { ConfigError } from '@highwater/core';

/** What `highwater init` needs to know, from flags or questions. */
export interface InitAnswers {
  readonly name: string;
  readonly source: 'postgres' | 'mysql';
  /** The source URL as given (it may hold a password: used for the check, never written). */
  readonly connection: string;
  readonly tables: readonly string[];
  readonly sink: 'file' | 'stdout' | 'postgres' | 'mysql';
  /** The target URL of a SQL sink. */
  readonly sinkConnection?: string;
  /** Target schema (Postgres) or database (MySQL) of a SQL sink. */
  readonly sinkSchema?: string;
  /** Events file of the file sink. */
  readonly sinkPath?: string;
}

export const SOURCES = ['postgres', 'mysql'] as const;
export const SINKS = ['file', 'stdout', 'postgres', 'mysql'] as const;

/** Environment variables the written file takes the passwords from. */
export const SOURCE_PASSWORD_VAR = 'HIGHWATER_SOURCE_PASSWORD';
export const TARGET_PASSWORD_VAR = 'HIGHWATER_TARGET_PASSWORD';

/** A connection URL, checked to be one for the adapter: `postgres://…` or `mysql://…`. */
export function parseConnection(url: string, adapter: 'postgres' | 'mysql', flag: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${flag}: not a URL; expected ${example(adapter)}`);
  }
  const schemes = adapter === 'postgres' ? ['postgres:', 'postgresql:'] : ['mysql:', 'mariadb:'];
  if (!schemes.includes(parsed.protocol)) {
    throw new ConfigError(`${flag}: a ${adapter} connection starts with ${schemes[0]}//, e.g. ${example(adapter)}`);
  }
  if (parsed.protocol === 'mariadb:') parsed = new URL(`mysql:${url.slice('mariadb:'.length)}`);
  return parsed;
}

function example(adapter: 'postgres' | 'mysql'): string {
  return adapter === 'postgres' ? 'postgres://cdc@db.internal:5432/shop' : 'mysql://cdc@db.internal:3306/shop';
}

/** The URL with the password from `envVar` when the URL has none (so it need not be typed on a command line). */
export function withPasswordFrom(url: URL, envVar: string, env: NodeJS.ProcessEnv): URL {
  const password = env[envVar];
  if (url.password !== '' || password === undefined || password === '') return url;
  const out = new URL(url);
  out.password = encodeURIComponent(password);
  return out;
}

/** Default table patterns: a Postgres database's `public` schema, or the MySQL connection's database. */
export function defaultTables(adapter: 'postgres' | 'mysql', url: URL): string[] | null {
  if (adapter === 'postgres') return ['public.*'];
  const database = decodeURIComponent(url.pathname.slice(1));
  return database === '' ? null : [`${database}.*`];
}
