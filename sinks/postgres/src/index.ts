export { arrayLiteral, postgresArrayStatements } from './array-statements.js';
export { copyField, copyLine } from './copy-text.js';
export { postgresColumnType, postgresDialect, postgresParam } from './postgres-dialect.js';
export { postgresText } from './postgres-value-text.js';
export { postgresSink } from './postgres-sink.js';
