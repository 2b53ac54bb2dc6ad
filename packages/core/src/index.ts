export type { JsonValue, Key, Row, Value } from './values/value.js';
export { JsonText } from './values/json-text.js';
export { valueFromJson, valueToJson } from './values/value-json.js';
export { createRowBuilder, type RowBuilder } from './values/row-builder.js';
export { civilFromDays, daysFromCivil } from './values/civil-date.js';
export type { OffsetCodec } from './offset/offset-codec.js';
export type { ColumnSchema, LogicalType, TableId, SourceIds, TableIndex, TableSchema } from './schema/table-schema.js';
export { chunkKeyOf, eventKeyRowOf, keyColumnsOf, primaryKeyRowOf, tableName } from './schema/table-schema.js';
export type { DdlChange, DdlKind, TypeChange } from './schema/ddl-changes.js';
export { compareTypes, constantDefault, diffTableSchemas } from './schema/ddl-changes.js';
export type { TableFilter } from './schema/table-filter.js';
export { compileTableFilter } from './schema/table-filter.js';
export type { ChunkRange, SnapshotSplit, Split, StreamSplit } from './split/split.js';
export { decodedBatches } from './spi/decoded-batches.js';
export { snapshotSplitId } from './split/split.js';
export type { LogItem, LogProgress, RowChange, SchemaChange, TableTruncate } from './spi/log-item.js';
export type {
  AdapterCapabilities,
  ChunkReader,
  Introspector,
  LogReader,
  LogReadRequest,
  SourceAdapter,
  UndecodedRows,
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
export { type NetworkFailure, networkConnectError, networkFailureOf } from './errors/network-failure.js';
export type {
  Checkpoint,
  CheckpointStore,
  SplitterState,
  StoredSplit,
  TableCheckpoint,
} from './checkpoint/checkpoint.js';
export { MemoryCheckpointStore } from './checkpoint/memory-checkpoint-store.js';
export { FileCheckpointStore } from './checkpoint/file-checkpoint-store.js';
export { removeTemporaryFilesOf, writeFileAtomically } from './checkpoint/atomic-write.js';
export { parseCheckpoint } from './checkpoint/parse-checkpoint.js';
export type { EvenDistribution } from './chunking/even-split.js';
export { DEFAULT_EVEN_DISTRIBUTION } from './chunking/even-split.js';
export type { TableSplitter, TableSplitterOptions } from './chunking/table-splitter.js';
export { createTableSplitter } from './chunking/table-splitter.js';
export type { ChunkChange, ChunkKeySpace, MergedChunk } from './snapshot/chunk-merge.js';
export { applyChange, mergeChunk, mergeChunkWithRemovals, unknownColumnsOf } from './snapshot/chunk-merge.js';
export type { RemoteChunkResult, RemoteChunks } from './snapshot/remote-chunks.js';
export type { SnapshotProgress, SourceMetrics, TableSnapshotProgress } from './metrics/source-metrics.js';
export type { RowKind } from './output/row-kinds.js';
export { toRowKinds } from './output/row-kinds.js';
export type {
  DebeziumEnvelope,
  DebeziumOptions,
  DebeziumRecord,
  DebeziumRow,
  DebeziumSource,
} from './output/debezium.js';
export { toDebeziumEnvelope } from './output/debezium.js';
export type {
  DebeziumColumn,
  DebeziumSchemaChange,
  DebeziumSchemaChangeRecord,
  DebeziumTable,
  DebeziumTableChange,
} from './output/debezium-schema-change.js';
export { toDebeziumSchemaChange } from './output/debezium-schema-change.js';
export { type EventFormat, EventLineEncoder, toEventJson } from './output/event-lines.js';
export { LineBuffer } from './output/line-buffer.js';
export type { TemporalMode } from './output/debezium-values.js';
export type { EventBatch } from './source/event-batch.js';
export type { Sink } from './sink/sink.js';
export type { SinkContext, SinkLogger } from './sink/sink-context.js';
export type { WriteFence } from './sink/write-fence.js';
export type { Source } from './source/source.js';
export type {
  RetryPolicy,
  SnapshotPhaseHooks,
  SourceOptions,
  SourceRetry,
  StartupMode,
} from './source/source-options.js';
export { createSource } from './source/create-source.js';
export { settleWithin } from './source/settle-within.js';
export { withChunkKey } from './source/discover-tables.js';
export type { ValueComparator } from './keys/key-comparison.js';
export {
  columnwiseKeyComparator,
  compareBytes,
  compareCodePoints,
  compareDecimalStrings,
  compareNumeric,
} from './keys/key-comparison.js';
