import mysql from 'mysql2/promise';
import pg from 'pg';

/** One SQL connection to either engine, values read back as the server's text. */
export interface SqlConnection {
  readonly dialect: 'postgres' | 'mysql';
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const asText = { getTypeParser: () => (value: string) => value };

export async function connect(dialect: 'postgres' | 'mysql', url: string): Promise<SqlConnection> {
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url, types: asText });
    // A server restart drops the session: the owner sees the error on its next query.
    client.on('error', () => {});
    await client.connect();
    return {
      dialect,
      query: async (sql) => (await client.query(sql)).rows as Record<string, unknown>[],
      close: () => client.end().catch(() => {}),
    };
  }
  const client = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    decimalNumbers: false,
  });
  client.on('error', () => {});
  return {
    dialect,
    query: async (sql) => {
      const [rows] = await client.query(sql);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    close: () => client.end().catch(() => {}),
  };
}

/** Runs statements on a fresh connection and returns the last one's rows. */
export async function runSql(
  dialect: 'postgres' | 'mysql',
  url: string,
  statements: readonly string[],
): Promise<Record<string, unknown>[]> {
  const db = await connect(dialect, url);
  try {
    let last: Record<string, unknown>[] = [];
    for (const statement of statements) last = await db.query(statement);
    return last;
  } finally {
    await db.close();
  }
}
