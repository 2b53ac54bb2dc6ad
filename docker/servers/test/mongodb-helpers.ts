import { type Collection, MongoClient } from 'mongodb';
import { type MongoSimulator, type MongoSimulatorOptions, startMongoSimulator } from '../src/index.js';

/** A MongoDB simulator and a connected `mongodb` driver client; `close()` ends both. */
export interface SimulatorSession {
  readonly simulator: MongoSimulator;
  readonly client: MongoClient;
  close(): Promise<void>;
}

export async function openSimulator(options: MongoSimulatorOptions = {}): Promise<SimulatorSession> {
  const simulator = await startMongoSimulator(options);
  const client = new MongoClient(simulator.url, { serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await simulator.close();
    throw error;
  }
  return {
    simulator,
    client,
    async close() {
      await client.close(true).catch(() => undefined);
      await simulator.close();
    },
  };
}

/** Documents whose `_id` may be of any BSON type (the driver's default typing assumes ObjectId). */
export interface AnyDocument {
  _id?: string | number | bigint | boolean | object | null;
  // biome-ignore lint/suspicious/noExplicitAny: test documents hold values of every BSON type
  [field: string]: any;
}

export function anyCollection(session: SimulatorSession, db: string, coll: string): Collection<AnyDocument> {
  return session.client.db(db).collection<AnyDocument>(coll);
}
