/**
 * The adapter's whole use of Oracle goes through this one narrow interface: a session that runs a
 * statement with named binds and returns rows as objects, and closes. The production implementation
 * is `oracledbConnector` (node-oracledb in Thin mode); tests pass a simulator with the same shape.
 *
 * What a session returns, column by column (the adapter relies on nothing else):
 * - `NUMBER` columns as decimal strings (never a lossy JS number);
 * - `VARCHAR2`/`CHAR`/`CLOB` as strings, `RAW`/`BLOB` as `Uint8Array`;
 * - `BINARY_FLOAT`/`BINARY_DOUBLE` as numbers;
 * - dates, timestamps and intervals are never selected bare: the adapter's statements wrap them in
 *   `TO_CHAR` so they arrive as text in the session's NLS formats (see `SESSION_SETUP`).
 */
export type BindValue = string | number | Uint8Array | null;

/** Named binds (`:name` in the statement). */
export type Binds = Readonly<Record<string, BindValue>>;

/** One row, keyed by the column name or alias exactly as Oracle reports it (upper case unless quoted). */
export type ResultRow = Readonly<Record<string, unknown>>;

export interface ExecuteResult {
  readonly rows: readonly ResultRow[];
}

export interface OracleSession {
  /** Runs one statement (a query, DML or an anonymous PL/SQL block). Errors keep Oracle's `code` (`ORA-01291`, `NJS-503`). */
  execute(sql: string, binds?: Binds): Promise<ExecuteResult>;
  /**
   * Runs a query and yields its rows at most `batchRows` at a time (a result set fetched in batches),
   * for results too large to hold at once: a mining window's V$LOGMNR_CONTENTS. Leaving the loop
   * early closes the result set.
   */
  stream(sql: string, binds: Binds, batchRows: number): AsyncIterable<readonly ResultRow[]>;
  close(): Promise<void>;
}

/** Where and as whom to connect. */
export interface OracleConnectSettings {
  readonly user: string;
  readonly password: string;
  /** Easy Connect string (`host:1521/FREEPDB1`) or a TNS descriptor. */
  readonly connectString: string;
  /** Seconds to wait for the listener (default 10). */
  readonly connectTimeoutSeconds?: number;
}

/** Opens a session: `oracledbConnector` in production, a simulator in tests. */
export type OracleConnector = (settings: OracleConnectSettings) => Promise<OracleSession>;

/**
 * Run on every new session: fixed date/time text formats, so the snapshot path (`TO_CHAR` in the
 * chunk query) and LogMiner's `SQL_REDO` (which writes `TO_DATE`/`TO_TIMESTAMP` literals in the
 * session's NLS formats) produce the same text, and UTC, so `WITH LOCAL TIME ZONE` values are UTC.
 */
export const SESSION_SETUP: readonly string[] = [
  "ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'",
  "ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'",
  "ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM'",
  "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'",
  "ALTER SESSION SET TIME_ZONE = '+00:00'",
];

/** Parses `oracle://user:password@host:1521/SERVICE` into settings. */
export function parseOracleUrl(url: string): OracleConnectSettings {
  const u = new URL(url);
  if (u.protocol !== 'oracle:') throw new Error(`not an oracle:// URL: ${u.protocol}`);
  return {
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    connectString: `${u.hostname}:${u.port || '1521'}${u.pathname}`,
  };
}
