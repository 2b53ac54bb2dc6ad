/// <reference path="./oracledb.d.ts" />
import oracledb from 'oracledb';
import type {
  Binds,
  ExecuteResult,
  OracleConnectSettings,
  OracleConnector,
  OracleSession,
  ResultRow,
} from './session.js';
import { SESSION_SETUP } from './session.js';

/** The slice of node-oracledb's metadata the fetch handler reads. */
interface FetchMetadata {
  readonly dbType?: unknown;
}

interface DriverResultSet {
  getRows(count: number): Promise<unknown[]>;
  close(): Promise<void>;
}

interface DriverConnection {
  execute(
    sql: string,
    binds: Record<string, unknown>,
    options: Record<string, unknown>,
  ): Promise<{ rows?: unknown[]; resultSet?: DriverResultSet }>;
  close(): Promise<void>;
}

function driverBinds(binds: Binds): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(binds)) params[k] = v instanceof Uint8Array ? Buffer.from(v) : v;
  return params;
}

const driver = oracledb as unknown as {
  getConnection(config: Record<string, unknown>): Promise<DriverConnection>;
  OUT_FORMAT_OBJECT: number;
  STRING: number;
  BUFFER: number;
  DB_TYPE_NUMBER: unknown;
  DB_TYPE_CLOB: unknown;
  DB_TYPE_NCLOB: unknown;
  DB_TYPE_BLOB: unknown;
};

/** NUMBER as exact strings, LOBs fetched whole (strings and buffers), as `OracleSession` promises. */
function fetchTypeHandler(metadata: FetchMetadata): { type: number } | undefined {
  if (metadata.dbType === driver.DB_TYPE_NUMBER) return { type: driver.STRING };
  if (metadata.dbType === driver.DB_TYPE_CLOB || metadata.dbType === driver.DB_TYPE_NCLOB)
    return { type: driver.STRING };
  if (metadata.dbType === driver.DB_TYPE_BLOB) return { type: driver.BUFFER };
  return undefined;
}

function toRow(row: unknown): ResultRow {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
    out[k] = Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v;
  }
  return out;
}

class OracledbSession implements OracleSession {
  constructor(private readonly connection: DriverConnection) {}

  async execute(sql: string, binds: Binds = {}): Promise<ExecuteResult> {
    const result = await this.connection.execute(sql, driverBinds(binds), {
      outFormat: driver.OUT_FORMAT_OBJECT,
      fetchTypeHandler,
      autoCommit: false,
    });
    return { rows: (result.rows ?? []).map(toRow) };
  }

  /** A result set (node-oracledb `resultSet: true`) read with `getRows(batchRows)` until empty. */
  async *stream(sql: string, binds: Binds, batchRows: number): AsyncIterable<readonly ResultRow[]> {
    const result = await this.connection.execute(sql, driverBinds(binds), {
      outFormat: driver.OUT_FORMAT_OBJECT,
      fetchTypeHandler,
      autoCommit: false,
      resultSet: true,
      fetchArraySize: batchRows,
    });
    const set = result.resultSet;
    if (set === undefined) {
      if (result.rows !== undefined && result.rows.length > 0) yield result.rows.map(toRow);
      return;
    }
    try {
      for (;;) {
        const rows = await set.getRows(batchRows);
        if (rows.length === 0) return;
        yield rows.map(toRow);
      }
    } finally {
      await set.close();
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/**
 * Sessions on node-oracledb in Thin mode (pure JavaScript, no Instant Client), each set up with
 * `SESSION_SETUP`.
 */
export const oracledbConnector: OracleConnector = async (settings: OracleConnectSettings) => {
  const connection = await driver.getConnection({
    user: settings.user,
    password: settings.password,
    connectString: settings.connectString,
    connectTimeout: settings.connectTimeoutSeconds ?? 10,
  });
  const session = new OracledbSession(connection);
  try {
    for (const statement of SESSION_SETUP) await session.execute(statement);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
  return session;
};
