import type { Row } from '@highwater/core';
import {
  describeFrom,
  registerSinkConformanceTests,
  type SinkHarness,
  silentLogger,
} from '@highwater/conformance/sink';
import { readSqlCheckpoint } from '@highwater/sink-sql';
import { startPostgres, type ThrowawayServer } from '@highwater/test-servers';
import pg from 'pg';
import { postgresDialect, postgresSink } from '../src/index.js';

const PIPELINE = 'conformance';
let server: ThrowawayServer | null = null;
let admin: pg.Client | null = null;

function running(): { server: ThrowawayServer; admin: pg.Client } {
  if (server === null || admin === null) throw new Error('the Postgres harness is not started');
  return { server, admin };
}

const harness: SinkHarness = {
  name: 'postgres',
  stores: 'tables',
  storesCheckpoints: true,
  async start() {
    server = await startPostgres({ useEnv: false });
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  },
  async stop() {
    await admin?.end().catch(() => undefined);
    await server?.stop();
  },
  // The suite expects the target to follow every change, truncates included: schemaChanges evolve
  // (the default, lenient, keeps truncated rows; docs/sinks.md).
  async createSink(target, tables) {
    return postgresSink(
      {
        connection: running().server.url,
        schema: target,
        tableNaming: 'table',
        createTables: true,
        schemaChanges: 'evolve',
      },
      { pipelineName: PIPELINE, logger: silentLogger, describeTables: describeFrom(tables) },
    );
  },
  async readBack(target, tables) {
    const { server, admin } = running();
    const stored = await readSqlCheckpoint(postgresDialect, { connection: server.url, schema: target }, PIPELINE);
    const rows = new Map<string, readonly Row[]>();
    for (const table of tables) {
      const exists = await admin.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [
        target,
        table.id.name,
      ]);
      if (exists.rowCount === 0) continue;
      const result = await admin.query({
        text: `SELECT * FROM "${target}"."${table.id.name}"`,
        types: { getTypeParser: () => (text: string) => text },
      });
      rows.set(`${table.id.schema}.${table.id.name}`, result.rows as Row[]);
    }
    return { checkpoint: stored?.checkpoint ?? null, data: { kind: 'tables', tables: rows } };
  },
  async abandon(sink, _target, pending) {
    // The server ends the sink's session as if its process had died: an open transaction rolls back.
    await running().admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'highwater-sink'",
    );
    await pending.catch(() => undefined);
    await sink.close().catch(() => undefined);
  },
};

registerSinkConformanceTests({ harness });
