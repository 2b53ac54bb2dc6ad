import { SinkError } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { mysqlDialect } from '@highwater/sink-mysql';
import { postgresDialect } from '@highwater/sink-postgres';
import { connectError, sinkEndpoint, sinkError } from '../src/sql-errors.js';

/** An error shaped like the drivers' (`code` for Postgres SQLSTATE and Node errno names, `errno` for MySQL). */
function driverError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('SQL sink connection errors', () => {
  it('reads host, port, user and database from a URL or an object, never the password', () => {
    expect(sinkEndpoint(postgresDialect, 'postgres://writer:s3cret@db.internal/replica')).toEqual({
      host: 'db.internal',
      port: 5432,
      user: 'writer',
      database: 'replica',
    });
    expect(sinkEndpoint(mysqlDialect, { host: 'my', user: 'w', password: 'p', database: 'shop' })).toEqual({
      host: 'my',
      port: 3306,
      user: 'w',
      database: 'shop',
    });
  });

  it('names the problem, the place and what to check', () => {
    const url = 'mysql://writer:s3cret@my.internal:3307/shop';
    const denied = connectError(
      mysqlDialect,
      url,
      driverError("Access denied for user 'writer'@'10.0.0.2' (using password: YES)", { errno: 1045, fatal: true }),
    );
    expect(denied).toBeInstanceOf(SinkError);
    expect(denied.retriable).toBe(false);
    expect(denied.message).toBe(
      `mysql sink: authentication failed for user "writer" at my.internal:3307: check sink.connection's user and password`,
    );
    const refused = connectError(
      postgresDialect,
      'postgres://w:s3cret@pg:6543/db',
      driverError('connect ECONNREFUSED 10.0.0.3:6543', { code: 'ECONNREFUSED' }),
    );
    expect(refused.retriable).toBe(true);
    expect(refused.message).toMatch(/^postgres sink: cannot connect to pg:6543: connection refused: /);
    const noDb = connectError(mysqlDialect, url, driverError("Unknown database 'shop'", { errno: 1049 }));
    expect(noDb.message).toContain('database "shop" does not exist on my.internal:3307');
    for (const error of [denied, refused, noDb]) expect(error.message).not.toContain('s3cret');
  });

  it('says what to GRANT when a statement is refused', () => {
    const error = sinkError(
      postgresDialect,
      'CREATE statement',
      driverError('permission denied for schema shop', { code: '42501' }),
    );
    expect(error.message).toBe(
      'postgres sink: CREATE statement failed: permission denied for schema shop: the sink creates and fills tables there: run `GRANT USAGE, CREATE ON SCHEMA shop TO <user>;`',
    );
    expect(error.retriable).toBe(false);
  });
});
