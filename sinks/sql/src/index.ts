export {
  BatchPlan,
  type DeleteGroup,
  type KeyId,
  type StatementGroup,
  type TruncateGroup,
  type UpsertGroup,
} from './batch-plan.js';
export { type CapturedTablesConfig, describeCapturedTables } from './captured-tables.js';
export { CHECKPOINT_TABLE, readCheckpointRow } from './checkpoint-table.js';
export { ARRAY_STATEMENT_ROWS, ArrayWriter, type RunStatement, type ValueEncoder } from './array-writer.js';
export {
  type ArrayColumn,
  type ArrayStatements,
  type BulkLoad,
  type Dialect,
  type ExistingColumn,
  type IndexDdl,
  keyInList,
  type SessionStatement,
  type SqlSession,
  type TargetColumn,
  valuesList,
} from './dialect.js';
export {
  DDL_KINDS,
  DEFAULT_SCHEMA_CHANGES,
  SCHEMA_CHANGES_MODES,
  type SchemaChangesMode,
  type SourceDdl,
  type TargetAction,
  type TargetTypes,
  targetActions,
} from './schema-evolution.js';
export type { ConnectionConfig, SqlSinkConfig, SqlTargetConfig } from './sink-config.js';
export { sourceTableDescriber } from './source-schemas.js';
export {
  ACCEPT_MODES,
  ACCEPTED_FIELD,
  type AcceptedSchemaChange,
  type AcceptMode,
  REFUSED_FIELD,
  type RefusedSchemaChange,
  type SchemaChangeNotes,
  schemaChangeNotesIn,
} from './schema-acceptance.js';
export { type QueuedStatement, StatementQueue } from './statement-queue.js';
export { acceptSchemaChange, readSqlCheckpoint } from './stored-checkpoint.js';
export { connectError, type SinkEndpoint, sinkEndpoint, sinkError } from './sql-errors.js';
export { BULK_MIN_ROWS, DEFAULT_STATEMENT_ROWS, SqlSink, type SqlSinkContext } from './sql-sink.js';
export { createFenceTable, FENCE_TABLE, passFence } from './write-fence.js';
export { keyColumnsOf, type TargetTable, targetTableName, withSchema } from './target-table.js';
export {
  bitBytes,
  bitString,
  float32Text,
  isoYear,
  isTrue,
  exactJsonText,
  jsonable,
  jsonText,
  plainText,
  type RejectValue,
} from './value-text.js';
