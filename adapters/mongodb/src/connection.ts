import { type Document, MongoClient, type MongoClientOptions } from 'mongodb';
import { type Endpoint, endpointOf, toHighwaterError } from './errors.js';

/** How the adapter reaches the server. */
export interface ConnectionSettings {
  /** The connection string, e.g. `mongodb://cdc:secret@db1:27017,db2:27017/?replicaSet=rs0`. */
  readonly url: string;
  /** Driver options merged over the adapter's (`useBigInt64` and `bsonRegExp` stay on: values are read exactly). */
  readonly clientOptions?: MongoClientOptions;
}

/** Options every client of the adapter uses: exact values (Int64 as bigint, regular expressions as BSON), a short server selection. */
const EXACT: MongoClientOptions = {
  useBigInt64: true,
  bsonRegExp: true,
  promoteValues: true,
  appName: 'highwater',
  serverSelectionTimeoutMS: 10_000,
};

/**
 * Options for `db.command` replies, which do not take the client's deserialisation options: read
 * exactly as the adapter's other reads are (an Int64 as a bigint, not a number), so keys and
 * documents from a command compare and store alike with those from `find` and the change stream.
 */
export const EXACT_REPLY = { useBigInt64: true, bsonRegExp: true, promoteValues: true } as const;

/** A connected client (one per introspector, chunk reader and log reader, so each closes on its own). */
export async function connect(
  settings: ConnectionSettings,
  role: string,
): Promise<{ client: MongoClient; at: Endpoint }> {
  const at = endpointOf(settings.url);
  const client = new MongoClient(settings.url, {
    ...EXACT,
    maxPoolSize: 4,
    ...settings.clientOptions,
    useBigInt64: true,
    bsonRegExp: true,
    appName: `highwater-${role}`,
  });
  try {
    await client.connect();
    return { client, at };
  } catch (error) {
    await client.close().catch(() => undefined);
    throw toHighwaterError(error, at, 'connect');
  }
}

/** The cluster time a command reply was answered at (`operationTime`), as MongoDB reports it since 3.6. */
export function operationTimeOf(reply: Document): unknown {
  return reply.operationTime;
}
