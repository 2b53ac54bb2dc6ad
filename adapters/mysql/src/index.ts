export { type MysqlAdapterOptions, mysqlAdapter } from './adapter.js';
export { compareMysqlKeys } from './compare-keys.js';
export { type ConnectionSettings, DRIVER_OPTIONS } from './connection.js';
export { BINLOG_EVENTS } from './log-reader.js';
export { parseDdl } from './ddl.js';
export { stopZongji } from './stop-zongji.js';
export { compareOffsets, fileNumber, type MysqlOffset, mysqlOffsets, positionAt } from './offsets/mysql-offset.js';
export { type ColumnDecoder, decoderFor } from './types/decode.js';
export { logicalTypeOf, type MysqlColumn } from './types/mysql-column.js';
