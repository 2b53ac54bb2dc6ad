import type mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { binlogStatus, busyStatements } from '../src/watermarks.js';

/** A connection whose server understands only `understands`; a syntax error (1064) for the rest. */
function fakeConnection(understands: string) {
  const asked: string[] = [];
  const db = {
    async query(sql: string) {
      asked.push(sql);
      if (sql !== understands) throw Object.assign(new Error(`syntax: ${sql}`), { errno: 1064 });
      return [[{ File: 'bin.000002', Position: 4096 }], []];
    },
  };
  return { db: db as unknown as mysql.Connection, asked };
}

describe('binlog status', () => {
  it('finds the statement the server understands once, then asks only that', async () => {
    const { db, asked } = fakeConnection('SHOW BINLOG STATUS');
    expect(await binlogStatus(db)).toEqual({ file: 'bin.000002', pos: 4096 });
    expect(asked).toEqual(['SHOW BINARY LOG STATUS', 'SHOW BINLOG STATUS']);
    asked.length = 0;
    expect(await binlogStatus(db)).toEqual({ file: 'bin.000002', pos: 4096 });
    expect(asked).toEqual(['SHOW BINLOG STATUS']);
  });

  it('throws other errors at once, and the last syntax error when no statement is understood', async () => {
    const denied = {
      query: async () => {
        throw Object.assign(new Error('access denied'), { errno: 1227 });
      },
    } as unknown as mysql.Connection;
    await expect(binlogStatus(denied)).rejects.toThrow('access denied');
    const { db, asked } = fakeConnection('nothing');
    await expect(binlogStatus(db)).rejects.toThrow('syntax: SHOW MASTER STATUS');
    expect(asked).toHaveLength(3);
  });
});

describe('busy statements', () => {
  it("uses MySQL's form (no QUERY_ID column) once MariaDB's is refused, and only that from then on", async () => {
    const asked: string[] = [];
    const db = {
      async query(sql: string) {
        asked.push(sql);
        if (sql.includes('QUERY_ID')) throw Object.assign(new Error("Unknown column 'QUERY_ID'"), { errno: 1054 });
        return [
          [
            { id: 12, q: 'Query:COMMIT' },
            { id: 40, q: 'Query:SELECT 1' },
          ],
          [],
        ];
      },
    } as unknown as mysql.Connection;
    expect(await busyStatements(db, new Set([40]))).toEqual(new Map([[12, 'Query:COMMIT']]));
    expect(asked).toHaveLength(2);
    asked.length = 0;
    await busyStatements(db, new Set());
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain("CONCAT(COMMAND, ':', COALESCE(INFO, ''))");
  });
});
