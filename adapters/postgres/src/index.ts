export { type PostgresAdapterOptions, postgresAdapter } from './adapter.js';
export type { ConnectionSettings } from './connection.js';
export { formatLsn, type Lsn, parseLsn } from './offsets/lsn.js';
export { compareOffsets, type PgOffset, pgOffsets, positionAt } from './offsets/pg-offset.js';
export { decoderFor, SESSION_SETTINGS, type TextDecoder } from './types/decode.js';
export { logicalTypeOf } from './types/logical-type.js';
export type { PgType } from './types/pg-type.js';
export {
  dropReplicationState,
  formatBytes,
  HIGHWATER_SLOT_PREFIX,
  inspectSlots,
  type ReplicationStateNames,
  type SlotReport,
} from './slots.js';
export { type PublicationPlan, type SetupProblem, serverProblems, tableProblems } from './setup-check.js';
export { connect as connectPostgres } from './connection.js';
