import { z } from 'zod';

/**
 * The pipeline file, as `highwater run pipeline.yaml` reads it. Every field is documented in
 * docs/pipelines.md; this schema is the one source of truth for what is allowed.
 */

const positiveInt = z.number().int().positive();

/** A connection: a URL (`postgres://…`, `mysql://…`, `mongodb://…`, `oracle://…`) or its parts (`database` is Oracle's service name, MongoDB's authentication database). Passwords normally come from `${ENV_VARS}`. */
const connectionSchema = z.union(
  [
    z.string().min(1),
    z
      .object({
        host: z.string().min(1).default('localhost'),
        port: z.number().int().min(1).max(65_535).optional(),
        user: z.string().min(1),
        password: z.string().optional(),
        database: z.string().min(1),
      })
      .strict(),
  ],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${…} is the pipeline file's own syntax, shown to the user
  { error: 'expected a URL (postgres://user:${PASSWORD}@host:5432/db) or { host, port, user, password, database }' },
);

const tablesSchema = z
  .object({
    include: z.array(z.string().min(1)).min(1),
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict();

const startupSchema = z.union(
  [
    z.enum(['initial', 'snapshot', 'latest', 'earliest']),
    z.object({ offset: z.json() }).strict(),
    z.object({ timestamp: z.union([z.string().min(1), z.date()]) }).strict(),
  ],
  {
    error:
      "expected initial, snapshot, latest, earliest, { offset: <an event's source.offset> } or { timestamp: <ISO time> }",
  },
);

const postgresSourceOptions = z
  .object({
    slotName: z
      .string()
      .regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _ only')
      .optional(),
    publicationName: z.string().min(1).optional(),
    createSlot: z.boolean().optional(),
    createPublication: z.boolean().optional(),
    dropSlotOnClose: z.boolean().optional(),
    /** Warn about a slot of Highwater's not read for this long (default 3600). */
    idleSlotWarningSeconds: positiveInt.optional(),
  })
  .strict();

const mysqlSourceOptions = z
  .object({
    serverId: z.number().int().min(1).max(4_294_967_295).optional(),
    heartbeatMs: positiveInt.optional(),
  })
  .strict();

/** LogMiner window sizing and polling of `@highwater/oracle` (docs/adapters/oracle.md). */
const oracleSourceOptions = z
  .object({
    windowScns: positiveInt.optional(),
    pollMs: positiveInt.optional(),
    /** Key tables without a primary key by ROWID (docs/adapters/oracle.md, "Tables without a primary key"). */
    rowidKeys: z.boolean().optional(),
    /** How long after an SCN every redo thread has surely written its redo (docs/adapters/oracle.md, "Where a window ends"). */
    redoFlushMs: positiveInt.optional(),
    /** The pluggable database to capture, and where LogMiner runs for it (docs/adapters/oracle.md, "Pluggable databases"). */
    pdb: z.string().min(1).optional(),
    pdbMining: z.enum(['root', 'pdb']).optional(),
  })
  .strict();

const mongodbSourceOptions = z
  .object({
    /** How before- and after-images are produced (docs/adapters/mongodb.md). */
    changelog: z.enum(['preImages', 'normalize', 'upsert']).optional(),
    rows: z.enum(['auto', 'document']).optional(),
    databases: z.array(z.string().min(1)).min(1).optional(),
    heartbeat: z
      .object({ database: z.string().min(1), collection: z.string().min(1) })
      .strict()
      .optional(),
    /** Where changelog normalize keeps its last-image stores (default `highwater-<pipeline>.images` in the working directory). */
    normalizeStore: z
      .object({ directory: z.string().min(1) })
      .strict()
      .optional(),
    maxAwaitTimeMs: positiveInt.optional(),
    /** Join events over 16 MB from `$changeStreamSplitLargeEvent` fragments (default true; false for servers before 6.0.9). */
    splitLargeEvents: z.boolean().optional(),
    /** `auto`: the server's split points (splitVector) where allowed, else sorted _id paging; `paging`: never splitVector. */
    chunkBoundaries: z.enum(['auto', 'paging']).optional(),
  })
  .strict();

const commonSource = {
  connection: connectionSchema,
  tables: tablesSchema,
  startup: startupSchema.default('initial'),
  chunkSize: positiveInt.optional(),
  parallelism: z.number().int().min(1).max(64).optional(),
  chunkKeys: z.record(z.string(), z.array(z.string().min(1)).min(1)).optional(),
  keylessTables: z.enum(['skip', 'fail']).optional(),
  batchSize: positiveInt.optional(),
};

const sourceSchema = z.discriminatedUnion('adapter', [
  z.object({ adapter: z.literal('postgres'), ...commonSource, options: postgresSourceOptions.default({}) }).strict(),
  z.object({ adapter: z.literal('mysql'), ...commonSource, options: mysqlSourceOptions.default({}) }).strict(),
  z.object({ adapter: z.literal('oracle'), ...commonSource, options: oracleSourceOptions.default({}) }).strict(),
  z.object({ adapter: z.literal('mongodb'), ...commonSource, options: mongodbSourceOptions.default({}) }).strict(),
]);

const eventFormat = z.enum(['native', 'debezium']);

/** How source tables are named in a SQL target: `schema.table` → `<targetSchema>.<table>` or `<targetSchema>.<schema>_<table>`. */
const tableNaming = z.enum(['table', 'schema_table']);

const sqlSinkCommon = {
  connection: connectionSchema,
  /** Target schema (Postgres) or database (MySQL) the tables are created in. */
  schema: z.string().min(1).optional(),
  tableNaming: tableNaming.default('table'),
  /** Create missing target tables from the source schema (default true). */
  createTables: z.boolean().default(true),
  /** Rows per multi-row INSERT/DELETE statement (default 500); a whole source batch is still one transaction. */
  batchSize: positiveInt.optional(),
  /**
   * What the source's DDL does to target tables: evolve, lenient (default, as Flink CDC's
   * `schema.change.behavior`), ignore or exception (docs/sinks.md, "Schema changes").
   */
  schemaChanges: z.enum(['evolve', 'lenient', 'ignore', 'exception']).optional(),
  /** A target table holding rows at the pipeline's first start: refuse (default), or let the snapshot overwrite them. */
  existingRows: z.enum(['fail', 'overwrite']).optional(),
};

const sinkSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdout'), format: eventFormat.default('native') }).strict(),
  z.object({ type: z.literal('file'), path: z.string().min(1), format: eventFormat.default('native') }).strict(),
  z.object({ type: z.literal('postgres'), ...sqlSinkCommon }).strict(),
  z.object({ type: z.literal('mysql'), ...sqlSinkCommon }).strict(),
  z
    .object({
      type: z.literal('nats'),
      /** `nats://host:4222` (credentials as `user:password@` or `token@`; several servers comma-separated). */
      url: z.string().min(1),
      /** Default `highwater-<pipeline>`, created when missing. */
      stream: z.string().min(1).optional(),
      /** Subjects are `<subjectPrefix>.<schema>.<table>`. Default: the pipeline name. */
      subjectPrefix: z.string().min(1).optional(),
      format: eventFormat.default('native'),
      /** Publishes awaiting their acknowledgement at most (default 1024). */
      maxInFlight: positiveInt.optional(),
      /** Limits of the stream when the sink creates it. */
      streamLimits: z
        .object({
          maxBytes: positiveInt.optional(),
          maxAgeSeconds: z.number().int().min(0).optional(),
          replicas: z.number().int().min(1).max(5).optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
]);

/** Where checkpoints live when the sink does not store them with its data (stdout, file). */
const checkpointSchema = z
  .object({
    /** Default: `<pipeline file without extension>.checkpoint.json` beside the pipeline file. */
    path: z.string().min(1).optional(),
  })
  .strict();

const metricsSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).default(9464),
    /** Localhost unless set: metrics reveal table names and positions. */
    host: z.string().min(1).default('127.0.0.1'),
    /** `GET /ready` answers 503 while the emit lag is above this many seconds. */
    readyLagSeconds: z.number().positive().default(60),
  })
  .strict();

/** Restarts after a retriable failure (lost target connection, source down after its own retries). */
const restartSchema = z
  .object({
    /** Restarts in a row before the run fails; a written batch starts the count again. 0: fail at once. */
    attempts: z.number().int().min(0).default(10),
    /** Wait before the first restart; doubles each time. */
    initialDelayMs: z.number().int().min(0).default(1_000),
    /** Longest wait between restarts. */
    maxDelayMs: z.number().int().min(0).default(60_000),
  })
  .strict()
  .refine((r) => r.maxDelayMs >= r.initialDelayMs, {
    message: 'maxDelayMs must be at least initialDelayMs',
    path: ['maxDelayMs'],
  });

const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  })
  .strict();

/** One pipeline run by several processes coordinated through NATS JetStream (docs/operations.md, "Running on several machines"). */
const clusterSchema = z
  .object({
    nats: z
      .object({
        /** `nats://host:4222`, or several URLs of one NATS cluster. */
        url: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
        user: z.string().min(1).optional(),
        password: z.string().optional(),
        token: z.string().min(1).optional(),
        /** Subject prefix of the cluster's streams (default `highwater`). */
        prefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
          .optional(),
        /** A chunk without a heartbeat for this long goes to another member (default 30000). */
        ackWaitMs: z.number().int().min(1_000).optional(),
        /** The leader lease lasts this long unless renewed (default 15000). */
        leaseTtlMs: z.number().int().min(1_000).optional(),
        /** JetStream replicas of the cluster's streams and buckets (default 1). */
        replicas: z.number().int().min(1).max(5).optional(),
      })
      .strict(),
    /** Chunks handed out at once across all members (default 64). */
    inFlightChunks: positiveInt.optional(),
    /** Chunks each member reads at once (default: `source.parallelism`, else 4). */
    readers: z.number().int().min(1).max(64).optional(),
  })
  .strict();

export const pipelineSchema = z
  .object({
    /** Names the pipeline in logs, metrics and the sink's checkpoint row. Default: the file name. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _, . and - only')
      .optional(),
    source: sourceSchema,
    sink: sinkSchema,
    checkpoint: checkpointSchema.default({}),
    /** Absent: no metrics endpoint. */
    metrics: metricsSchema.optional(),
    log: logSchema.default({ level: 'info' }),
    restart: restartSchema.default({ attempts: 10, initialDelayMs: 1_000, maxDelayMs: 60_000 }),
    /** Absent: one process runs the pipeline. */
    cluster: clusterSchema.optional(),
  })
  .strict();

/** A pipeline file after validation and `${ENV}` substitution, defaults filled in. */
export type PipelineConfig = z.output<typeof pipelineSchema>;
export type SourceConfig = PipelineConfig['source'];
export type SinkConfig = PipelineConfig['sink'];
export type SqlSinkConfig = Extract<SinkConfig, { type: 'postgres' | 'mysql' }>;
export type NatsSinkConfig = Extract<SinkConfig, { type: 'nats' }>;
export type ConnectionConfig = z.output<typeof connectionSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
