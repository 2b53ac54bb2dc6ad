import type { Row } from '@highwater/core';
import {
  describeFrom,
  registerSinkConformanceTests,
  type SinkHarness,
  silentLogger,
} from '@highwater/conformance/sink';
import { readSqlCheckpoint } from '@highwater/sink-sql';
import { startMariadb, type ThrowawayServer } from '@highwater/test-servers';
import mysql from 'mysql2/promise';
import { mysqlDialect, mysqlSink } from '../src/index.js';

const PIPELINE = 'conformance';
let server: ThrowawayServer | null = null;
let admin: mysql.Connection | null = null;

function running(): { server: ThrowawayServer; admin: mysql.Connection } {
  if (server === null || admin === null) throw new Error('the MariaDB harness is not started');
  return { server, admin };
}

const harness: SinkHarness = {
  name: 'mysql (MariaDB 10.11)',
  stores: 'tables',
  storesCheckpoints: true,
  async start() {
    server = await startMariadb({ useEnv: false });
    // Numbers and decimals as text, as the server prints them: the suite compares text.
    admin = await mysql.createConnection({ uri: server.url, supportBigNumbers: true, bigNumberStrings: true });
  },
  async stop() {
    await admin?.end().catch(() => undefined);
    await server?.stop();
  },
  // The suite expects the target to follow every change, truncates included: schemaChanges evolve
  // (the default, lenient, keeps truncated rows; docs/sinks.md).
  async createSink(target, tables) {
    return mysqlSink(
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
    const stored = await readSqlCheckpoint(mysqlDialect, { connection: server.url, schema: target }, PIPELINE);
    const rows = new Map<string, readonly Row[]>();
    for (const table of tables) {
      const [exists] = await admin.query(
        'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [target, table.id.name],
      );
      if ((exists as unknown[]).length === 0) continue;
      const [result] = await admin.query(`SELECT * FROM \`${target}\`.\`${table.id.name}\``);
      rows.set(`${table.id.schema}.${table.id.name}`, result as Row[]);
    }
    return { checkpoint: stored?.checkpoint ?? null, data: { kind: 'tables', tables: rows } };
  },
  async abandon(sink, _target, pending) {
    // The server ends the sink's sessions as if its process had died: an open transaction rolls back.
    const { admin } = running();
    const [sessions] = await admin.query(
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump') AND USER NOT IN ('system user', 'event_scheduler')",
    );
    for (const { id } of sessions as { id: number }[]) await admin.query(`KILL ${Number(id)}`).catch(() => undefined);
    await pending.catch(() => undefined);
    await sink.close().catch(() => undefined);
  },
};

registerSinkConformanceTests({ harness });
