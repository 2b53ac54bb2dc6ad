export { type OracleAdapterOptions, oracleAdapter } from './adapter.js';
export { compareOracleKeys } from './compare-keys.js';
export { describeTable, oracleColumnOf } from './catalog.js';
export { toHighwaterError } from './errors.js';
export { DEFAULT_MINING, type MiningOptions } from './log-reader.js';
export { compareOracleOffsets, type OracleOffset, oracleOffsets, watermarkAt } from './offsets/oracle-offset.js';
export { type DecodedRedo, decodeRedo, RedoSyntaxError } from './redo/redo-scanner.js';
export { type ColumnEntry, LOB_NOT_LOGGED, RedoRowDecoder, typedCall, typedLiteral } from './redo/redo-values.js';
export { type BufferedChange, OpenTransactions, TransactionBuffer } from './logminer/transaction-buffer.js';
export { oracledbConnector } from './session/oracledb-session.js';
export {
  type BindValue,
  type Binds,
  type ExecuteResult,
  type OracleConnectSettings,
  type OracleConnector,
  type OracleSession,
  parseOracleUrl,
  type ResultRow,
  SESSION_SETUP,
} from './session/session.js';
export { SQL } from './sql/statements.js';
export { type ColumnDecoder, decoderFor, normalizeDecimal } from './types/decode.js';
export {
  columnSchemaOf,
  DATE_FORMAT,
  familyOf,
  logicalTypeOf,
  oracleColumn,
  type OracleColumn,
  quoteIdent,
  TIMESTAMP_FORMAT,
  TIMESTAMP_TZ_FORMAT,
} from './types/oracle-column.js';
