export { mysqlColumnType, mysqlDialect, mysqlParam } from './mysql-dialect.js';
