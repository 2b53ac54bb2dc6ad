export { mysqlColumnType, mysqlDialect, mysqlParam } from './mysql-dialect.js';
export { mysqlSink } from './mysql-sink.js';
export {
  isBinaryColumn,
  LoadDuplicateError,
  LoadWarningError,
  loadDataStatement,
  loadField,
  loadLine,
} from './load-data.js';
