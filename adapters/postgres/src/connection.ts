import pg from 'pg';
import { sessionOptions } from './types/decode.js';

/** Where the adapter connects: a connection string or a `pg` client configuration. */
export type ConnectionSettings = string | pg.ClientConfig;

/** Every value arrives as the text Postgres prints; the adapter's one decoder takes it from there. */
const rawText = (value: string): string => value;
const rawTypes: pg.CustomTypesConfig = {
  getTypeParser: (() => rawText) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

/** The client configuration with the adapter's session settings and raw-text values. */
export function clientConfig(settings: ConnectionSettings, applicationName: string): pg.ClientConfig {
  const base: pg.ClientConfig = typeof settings === 'string' ? { connectionString: settings } : settings;
  const options = [base.options, sessionOptions()].filter((o) => o !== undefined && o !== '').join(' ');
  return { application_name: applicationName, ...base, options, types: rawTypes };
}

/** A connected client; errors emitted while idle are kept for the next call instead of crashing the process. */
export async function connect(settings: ConnectionSettings, applicationName: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(settings, applicationName));
  client.on('error', () => {
    // Reported again by the next query on this client.
  });
  await client.connect();
  return client;
}
