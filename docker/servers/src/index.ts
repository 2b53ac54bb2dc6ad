export {
  findMariadbBinaries,
  findNatsServer,
  findPostgresBinaries,
  type MariadbBinaries,
  type PostgresBinaries,
} from './binaries.js';
export { MissingBinaryError, PortInUseError, ServerStartError } from './errors.js';
export { MARIADB_DEFAULT_ARGS, MYSQL_URL_VARIABLE, startMariadb } from './mariadb.js';
export { NATS_URL_VARIABLE, type StartNatsOptions, startNats, type ThrowawayNats } from './nats.js';
export { pickFreePort } from './ports.js';
export { POSTGRES_DEFAULT_SETTINGS, POSTGRES_URL_VARIABLE, startPostgres } from './postgres.js';
export { liveServerCount } from './registry.js';
export { OWNER_FILE, sweepLeftovers, TEMP_DIR_PREFIX } from './tempdir.js';
export type {
  CommonStartOptions,
  ServerKind,
  StartMariadbOptions,
  StartPostgresOptions,
  StartTimings,
  ThrowawayMariadb,
  ThrowawayPostgres,
  ThrowawayServer,
} from './types.js';
export { MONGODB_URL_VARIABLE, type StartMongodbOptions, startMongodb, type ThrowawayMongodb } from './mongodb.js';
export {
  type MongoSimulator,
  type MongoSimulatorOptions,
  type SimulatedUser,
  startMongoSimulator,
  type VisibilityLag,
} from './mongodb/index.js';
