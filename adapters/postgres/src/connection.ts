import pg from 'pg';
import { connectError } from './errors.js';
import { sessionOptions } from './types/decode.js';

/** Where the adapter connects: a connection string or a `pg` client configuration. */
export type ConnectionSettings = string | pg.ClientConfig;

/** Every value arrives as the text Postgres prints; the adapter's one decoder takes it from there. */
const rawText = (value: string): string => value;
const rawTypes: pg.CustomTypesConfig = {
  getTypeParser: (() => rawText) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

/** How long opening a connection may take unless the settings say (`connectionTimeoutMillis`); pg's own default waits forever. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** The client configuration with the adapter's session settings and raw-text values. */
export function clientConfig(settings: ConnectionSettings, applicationName: string): pg.ClientConfig {
  const base: pg.ClientConfig = typeof settings === 'string' ? { connectionString: settings } : settings;
  const options = [base.options, sessionOptions()].filter((o) => o !== undefined && o !== '').join(' ');
  return {
    application_name: applicationName,
    connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
    ...base,
    options,
    types: rawTypes,
  };
}

/**
 * A connected client; errors emitted while idle are kept for the next call instead of crashing the
 * process. A failure to connect rejects with a typed error naming the server, the user and what to
 * check (see `connectError`), never the password.
 */
export async function connect(settings: ConnectionSettings, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(settings, applicationName));
  client.on('error', () => {
    // Reported again by the next query on this client.
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectError(error, {
      host: client.host,
      port: client.port,
      user: client.user ?? '',
      database: client.database ?? '',
    });
  }
  return client;
}
