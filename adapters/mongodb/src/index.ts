export { mongodbAdapter } from './adapter.js';
export type { ChangelogMode, MongoAdapterOptions } from './options.js';
export type { ConnectionSettings } from './connection.js';
export { compareBson } from './bson/bson-order.js';
export { compareMongoKeys } from './bson/compare-keys.js';
export { type MongoOffset, mongoOffsets, AFTER_ALL, BEFORE_ALL } from './offsets/mongo-offset.js';
export { bsonToValue, valueToBson } from './rows/document-form.js';
export { type CollectionRows, columnBson, describeCollection, rowsOf } from './rows/collection-rows.js';
