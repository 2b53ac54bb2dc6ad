import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterCapabilities, JsonValue, LogicalType, Row, SourceAdapter, Value } from '@highwater/core';
import type {
  ColumnDefinition,
  ConformanceHarness,
  HarnessCapabilities,
  TableDefinition,
  WriteOp,
} from '@highwater/conformance';
import { startMongodb, type ThrowawayMongodb } from '@highwater/test-servers';
import { Binary, Decimal128, type Document, Double, Int32, Long, MongoClient, type ClientSession, UUID } from 'mongodb';
import { plainDecimal } from '../src/bson/decimal-text.js';
import {
  type ChangelogMode,
  type MongoAdapterOptions,
  type MongoOffset,
  mongodbAdapter,
  mongoOffsets,
} from '../src/index.js';
import { positionAt } from '../src/offsets/mongo-offset.js';

const DATABASE = 'conformance';

/** The simulator's users (SCRAM-SHA-256): one with every privilege, one without those CDC needs. */
const USER = { username: 'harness', password: 'harness-pw' };
const UNPRIVILEGED = {
  username: 'noprivs',
  password: 'noprivs-pw',
  deniedActions: ['find', 'changeStream', 'listCollections', 'splitVector'],
};

/** A connection string with a user's credentials in it. */
function withUser(url: string, user: { username: string; password: string }): string {
  return url.replace(
    'mongodb://',
    `mongodb://${encodeURIComponent(user.username)}:${encodeURIComponent(user.password)}@`,
  );
}

/** True when HIGHWATER_MONGODB_URL names a real server: the simulator's faults and users are not there. */
function externalServer(): boolean {
  const url = process.env.HIGHWATER_MONGODB_URL;
  return url !== undefined && url !== '';
}

/** The `bsonType` a logical column type is stored as. */
function bsonType(type: LogicalType): string | string[] {
  switch (type.kind) {
    case 'boolean':
      return 'bool';
    case 'int16':
    case 'int32':
      return 'int';
    case 'int64':
      return 'long';
    case 'float64':
      return 'double';
    case 'decimal':
      return 'decimal';
    case 'string':
      return 'string';
    case 'bytes':
    case 'uuid':
      return 'binData';
    case 'json':
      return ['object', 'array'];
    default:
      throw new Error(`the mongodb harness does not map ${type.kind}`);
  }
}

/** A logical value as the BSON value the harness stores (its own conversion, independent of the adapter's). */
function toBson(type: LogicalType, v: Value): unknown {
  if (v === null) return null;
  switch (type.kind) {
    case 'int16':
    case 'int32':
      return new Int32(v as number);
    case 'int64':
      return Long.fromBigInt(BigInt(v as number | bigint));
    case 'float64':
      return new Double(v as number);
    case 'decimal':
      return Decimal128.fromString(v as string);
    case 'bytes':
      return new Binary(v as Uint8Array, 0);
    case 'uuid':
      return new UUID(v as string);
    default:
      return v;
  }
}

/** A stored BSON value as the logical value the adapter must emit. */
function fromBson(type: LogicalType, v: unknown): Value {
  if (v === null || v === undefined) return null;
  switch (type.kind) {
    case 'int64':
      return Number.isSafeInteger(Number(v)) ? Number(v) : BigInt(v as bigint);
    case 'decimal':
      return plainDecimal((v as Decimal128).toString());
    case 'bytes':
      return new Uint8Array((v as Binary).buffer.subarray(0, (v as Binary).position));
    case 'uuid':
      return (v as UUID).toHexString(true);
    default:
      return v as Value;
  }
}

interface TableInfo {
  readonly definition: TableDefinition;
  readonly keyColumns: readonly string[];
  readonly types: ReadonlyMap<string, LogicalType>;
}

/**
 * The conformance harness for `@highwater/mongodb`: the MongoDB simulator of `@highwater/test-servers`
 * (or the replica set of `HIGHWATER_MONGODB_URL`), tables as collections in database `conformance`
 * with a `$jsonSchema` validator listing every column (so the adapter gives typed rows) and the
 * primary key as a compound `_id` document, pre- and post-images enabled. Writes go through the
 * harness's own driver client.
 */
export class MongoHarness implements ConformanceHarness<MongoOffset, Partial<MongoAdapterOptions>> {
  readonly name: string;
  readonly adapterCapabilities: AdapterCapabilities;
  readonly capabilities: HarnessCapabilities;
  private server: ThrowawayMongodb | null = null;
  private client: MongoClient | null = null;
  private readonly tables = new Map<string, TableInfo>();
  /** Changelog normalize: where the adapters keep their last-image stores (one directory per run, shared by restarts). */
  private storeDirectory: string | null = null;

  constructor(private readonly changelog: ChangelogMode = 'preImages') {
    this.name = `mongodb (${changelog})`;
    this.adapterCapabilities = mongodbAdapter({ url: 'mongodb://unused', changelog }).capabilities;
    this.capabilities = {
      // Not 'json': the suite's json samples are exact JSON texts (`1.10`, `1e-400`, integers beyond
      // int64, a `null` document) that BSON cannot store as written; a MongoDB document is a BSON
      // value, and the adapter gives embedded documents as objects (docs/adapters/mongodb.md).
      columnTypes: ['boolean', 'int16', 'int32', 'int64', 'float64', 'decimal', 'string', 'bytes', 'uuid'],
      commitTimeResolutionMs: 1000,
      // `_id` is immutable: the suite writes a key move as a delete and an insert in one transaction.
      immutableKeys: true,
      openConnections: () => this.settledConnectionCount(),
      // The simulator's visibility-lag fault in MongoDB's form: held commits are past the majority commit point,
      // so change streams and reads lack them and a majority read's operationTime (the low watermark) stays
      // before them (docker/servers/src/mongodb/backend.ts). A real server's lag cannot be held on demand.
      ...(externalServer()
        ? {}
        : {
            visibilityLag: {
              hold: () => this.requireSimulator().setVisibilityLag({ holdCommits: true }),
              release: () => {
                const sim = this.requireSimulator();
                sim.setVisibilityLag(null);
                sim.releaseHeldCommits();
              },
            },
          }),
    };
  }

  get url(): string {
    if (this.server === null) throw new Error('the mongodb harness is not started');
    return this.server.external ? this.server.url : withUser(this.server.url, USER);
  }

  get db() {
    if (this.client === null) throw new Error('the mongodb harness is not started');
    return this.client.db(DATABASE);
  }

  get simulator() {
    return this.server?.simulator;
  }

  private requireSimulator() {
    const sim = this.server?.simulator;
    if (sim === undefined) throw new Error('the mongodb harness is not started on the simulator');
    return sim;
  }

  async start(): Promise<void> {
    if (this.changelog === 'normalize') this.storeDirectory = mkdtempSync(join(tmpdir(), 'hw-mongodb-images-'));
    this.server = await startMongodb({ preAndPostImages: true, users: [USER, UNPRIVILEGED] });
    this.client = new MongoClient(this.url, { useBigInt64: true, maxPoolSize: 1, minPoolSize: 1 });
    await this.client.connect();
    await this.db
      .collection('harness_scratch')
      .updateOne({ _id: 1 as unknown as Document['_id'] }, { $set: { n: 0 } }, { upsert: true });
  }

  async stop(): Promise<void> {
    await this.client
      ?.db(DATABASE)
      .dropDatabase()
      .catch(() => undefined);
    await this.client?.close();
    this.client = null;
    await this.server?.stop();
    this.server = null;
    if (this.storeDirectory !== null) rmSync(this.storeDirectory, { recursive: true, force: true });
    this.storeDirectory = null;
  }

  createAdapter(options: Partial<MongoAdapterOptions> = {}): SourceAdapter<MongoOffset> {
    return mongodbAdapter({
      url: this.url,
      databases: [DATABASE],
      changelog: this.changelog,
      ...(this.storeDirectory === null ? {} : { normalizeStore: { directory: this.storeDirectory } }),
      ...options,
    });
  }

  /**
   * An adapter connected as the simulator's user without the `find`, `changeStream` and
   * `listCollections` actions. Only on the simulator (a real server's users are not the harness's to
   * make): with HIGHWATER_MONGODB_URL set the method is absent and the case is skipped.
   */
  readonly createUnprivilegedAdapter = !externalServer()
    ? (): SourceAdapter<MongoOffset> => {
        if (this.server === null) throw new Error('the mongodb harness is not started');
        return mongodbAdapter({
          url: withUser(this.server.url, UNPRIVILEGED),
          databases: [DATABASE],
          changelog: this.changelog,
          ...(this.storeDirectory === null ? {} : { normalizeStore: { directory: this.storeDirectory } }),
        });
      }
    : undefined;

  async createTable(definition: TableDefinition): Promise<string> {
    const keyColumns = definition.primaryKey ?? [];
    if (keyColumns.length === 0)
      throw new Error('MongoDB collections always have an _id: the harness makes no keyless table');
    const types = new Map<string, LogicalType>(definition.columns.map((c: ColumnDefinition) => [c.name, c.type]));
    const properties: Record<string, Document> = {
      _id: {
        bsonType: 'object',
        properties: Object.fromEntries(
          keyColumns.map((k: string) => [k, { bsonType: bsonType(types.get(k) as LogicalType) }]),
        ),
      },
    };
    for (const c of definition.columns) {
      if (keyColumns.includes(c.name)) continue;
      properties[c.name] = { bsonType: [bsonType(c.type), 'null'].flat() };
    }
    await this.db.createCollection(definition.name, {
      validator: { $jsonSchema: { bsonType: 'object', properties, additionalProperties: false } },
      changeStreamPreAndPostImages: { enabled: true },
    });
    const name = `${DATABASE}.${definition.name}`;
    this.tables.set(name, { definition, keyColumns, types });
    return name;
  }

  async insert(table: string, row: Row): Promise<void> {
    await this.collection(table).insertOne(this.documentOf(table, row));
  }

  async update(table: string, key: Row, changes: Row): Promise<void> {
    await this.write({ op: 'update', table, key, changes });
  }

  async delete(table: string, key: Row): Promise<void> {
    await this.collection(table).deleteOne({ _id: this.idOf(table, key) });
  }

  async transaction(ops: readonly WriteOp[]): Promise<void> {
    const session = (this.client as MongoClient).startSession();
    try {
      await session.withTransaction(async () => {
        for (const op of ops) await this.write(op, session);
      });
    } finally {
      await session.endSession();
    }
  }

  async readTable(table: string): Promise<readonly Row[]> {
    const info = this.info(table);
    const docs = await this.collection(table).find({}).toArray();
    return docs.map((doc) => {
      const row: Record<string, Value> = {};
      for (const k of info.keyColumns) row[k] = fromBson(info.types.get(k) as LogicalType, (doc._id as Document)[k]);
      for (const c of info.definition.columns) {
        if (!info.keyColumns.includes(c.name)) row[c.name] = fromBson(c.type, doc[c.name]);
      }
      return row;
    });
  }

  async alterTable(_table: string, _change: { readonly addColumn: ColumnDefinition }): Promise<void> {
    throw new Error('the mongodb adapter reports no schema changes (capabilities.schemaChanges is false)');
  }

  async dropTable(table: string): Promise<void> {
    await this.collection(table)
      .drop()
      .catch(() => undefined);
    this.tables.delete(table);
  }

  /** A collection drop is MongoDB's truncate (the adapter reports it as one); the collection is created again empty. */
  async truncateTable(table: string): Promise<void> {
    const info = this.info(table);
    const [existing] = await this.db.listCollections({ name: info.definition.name }).toArray();
    await this.collection(table).drop();
    await this.db.createCollection(info.definition.name, (existing as { options?: Document } | undefined)?.options);
  }

  async moveLog(): Promise<void> {
    await this.db.collection('harness_scratch').updateOne({ _id: 1 as unknown as Document['_id'] }, { $inc: { n: 1 } });
  }

  async loseLogBefore(): Promise<JsonValue> {
    const sim = this.server?.simulator;
    if (sim === undefined) throw new Error('an external server cannot be made to lose its oplog');
    const gone = positionAt(sim.clusterTime(), 0);
    await this.moveLog();
    await this.moveLog();
    sim.truncateOplogBefore();
    return mongoOffsets.toJSON(gone);
  }

  private async write(op: WriteOp, session?: ClientSession): Promise<void> {
    const coll = this.collection(op.table);
    const options = session === undefined ? {} : { session };
    if (op.op === 'insert') {
      await coll.insertOne(this.documentOf(op.table, op.row), options);
      return;
    }
    if (op.op === 'delete') {
      await coll.deleteOne({ _id: this.idOf(op.table, op.key) }, options);
      return;
    }
    const info = this.info(op.table);
    if (Object.keys(op.changes).some((c) => info.keyColumns.includes(c)))
      throw new Error(`the mongodb harness declares immutableKeys: the suite must not change the _id of ${op.table}`);
    const set: Document = {};
    for (const [c, v] of Object.entries(op.changes)) set[c] = toBson(info.types.get(c) as LogicalType, v);
    await coll.updateOne({ _id: this.idOf(op.table, op.key) }, { $set: set }, options);
  }

  private documentOf(table: string, row: Row): Document {
    const info = this.info(table);
    const doc: Document = { _id: this.idOf(table, row) };
    for (const c of info.definition.columns) {
      if (info.keyColumns.includes(c.name)) continue;
      doc[c.name] = toBson(c.type, row[c.name] ?? null);
    }
    return doc;
  }

  private idOf(table: string, key: Row): Document {
    const info = this.info(table);
    const id: Document = {};
    for (const k of info.keyColumns) id[k] = toBson(info.types.get(k) as LogicalType, key[k] ?? null);
    return id;
  }

  private info(table: string): TableInfo {
    const info = this.tables.get(table);
    if (info === undefined) throw new Error(`the harness did not create ${table}`);
    return info;
  }

  private collection(table: string) {
    return this.db.collection(this.info(table).definition.name);
  }

  /**
   * Connections the simulator has open, once the count stops changing: a client's close() returns
   * before the server has seen its sockets end. (The harness's own client is open all along, so it
   * cancels out of the before/after comparison.) An external server is not counted.
   */
  private async settledConnectionCount(): Promise<number> {
    const sim = this.server?.simulator;
    if (sim === undefined) return 0;
    let last = sim.connectionCount;
    let same = 0;
    for (let i = 0; i < 100 && same < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = sim.connectionCount;
      same = now === last ? same + 1 : 0;
      last = now;
    }
    return last;
  }
}
