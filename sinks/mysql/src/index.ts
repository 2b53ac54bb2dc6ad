export { mysqlColumnType, mysqlDialect, mysqlParam } from './mysql-dialect.js';
export { mysqlSink } from './mysql-sink.js';
