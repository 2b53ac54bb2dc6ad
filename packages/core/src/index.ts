export type { JsonValue, Key, Row, Value } from './values/value.js';
export { valueFromJson, valueToJson } from './values/value-json.js';
export type { OffsetCodec } from './offset/offset-codec.js';
export type { ColumnSchema, LogicalType, TableId, TableSchema } from './schema/table-schema.js';
export { chunkKeyOf, primaryKeyRowOf, tableName } from './schema/table-schema.js';
export type { TableFilter } from './schema/table-filter.js';
export { compileTableFilter } from './schema/table-filter.js';
export type { ChunkRange, SnapshotSplit, Split, StreamSplit } from './split/split.js';
export { snapshotSplitId } from './split/split.js';
export type { LogItem, LogProgress, RowChange, SchemaChange, TableTruncate } from './spi/log-item.js';
export type {
  AdapterCapabilities,
  ChunkReader,
  Introspector,
  LogReader,
  LogReadRequest,
  SourceAdapter,
} from './spi/source-adapter.js';
export type {
  ChangeEvent,
  HeartbeatEvent,
  SchemaChangeEvent,
  SourceEvent,
  SourceInfo,
  TruncateEvent,
} from './events/source-event.js';
export * from './errors/errors.js';
export type {
  Checkpoint,
  CheckpointStore,
  SplitterState,
  StoredSplit,
  TableCheckpoint,
} from './checkpoint/checkpoint.js';
