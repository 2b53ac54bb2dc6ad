/**
 * A MongoDB for one test run: the replica set named by `HIGHWATER_MONGODB_URL`, or else a fresh MongoDB simulator
 * (no MongoDB server can be installed on these machines; see docker/README.md).
 */
import { type MongoSimulator, type MongoSimulatorOptions, startMongoSimulator } from './mongodb/index.js';

export const MONGODB_URL_VARIABLE = 'HIGHWATER_MONGODB_URL';

/** A MongoDB server handle for tests. */
export interface ThrowawayMongodb {
  readonly kind: 'mongodb';
  /** Connection string for the `mongodb` driver. */
  readonly url: string;
  /** True when the handle points at the server named by `HIGHWATER_MONGODB_URL`: it is neither started nor stopped here. */
  readonly external: boolean;
  /** The simulator with its fault-injection controls; undefined for an external server (skip fault tests then). */
  readonly simulator: MongoSimulator | undefined;
  /** Stops the simulator (a no-op for an external server). */
  stop(): Promise<void>;
}

export interface StartMongodbOptions extends MongoSimulatorOptions {
  /** Honour `HIGHWATER_MONGODB_URL`. Default true; pass false to always start a simulator. */
  readonly useEnv?: boolean;
}

/** Starts a MongoDB simulator, or returns a handle on `HIGHWATER_MONGODB_URL` when that is set. */
export async function startMongodb(options: StartMongodbOptions = {}): Promise<ThrowawayMongodb> {
  const envUrl = options.useEnv === false ? undefined : process.env[MONGODB_URL_VARIABLE];
  if (envUrl !== undefined && envUrl !== '') {
    if (!/^mongodb(\+srv)?:\/\//.test(envUrl)) {
      throw new Error(
        `${MONGODB_URL_VARIABLE} must be a mongodb:// connection string of a replica set, got '${envUrl.replace(/\/\/[^@/]*@/, '//***@')}'`,
      );
    }
    return { kind: 'mongodb', url: envUrl, external: true, simulator: undefined, stop: () => Promise.resolve() };
  }
  const simulator = await startMongoSimulator(options);
  return { kind: 'mongodb', url: simulator.url, external: false, simulator, stop: () => simulator.close() };
}
