import type { SessionStatement, SqlSession } from './dialect.js';

/** A statement waiting to be sent, with the target table its failure names. */
export interface QueuedStatement extends SessionStatement {
  readonly table?: string;
}

/** Wraps a failure of a statement (what it was, the server's error, the table) as the sink reports it. */
export type StatementFailure = (what: string, error: unknown, table?: string) => Error;

/**
 * The statements of one write whose answers nothing waits for (BEGIN, a truncate, the array upserts
 * and deletes, the checkpoint, COMMIT), collected and sent together: in one round trip where the
 * session pipelines (Postgres), one by one otherwise. Anything that needs an answer goes through
 * {@link session}, which sends what is queued first, so the server sees every statement in the
 * order the sink made them.
 */
export class StatementQueue {
  private pending: QueuedStatement[] = [];
  /** `session`, sending the queued statements before each of its own. */
  readonly session: SqlSession;

  constructor(
    private readonly target: SqlSession,
    private readonly failure: StatementFailure,
  ) {
    const flushed =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await this.flush();
        return call(...args);
      };
    this.session = {
      query: flushed((sql: string, params?: readonly unknown[]) => target.query(sql, params)),
      close: () => target.close(),
      ...(target.execute === undefined ? {} : { execute: flushed(target.execute.bind(target)) }),
      ...(target.load === undefined ? {} : { load: flushed(target.load.bind(target)) }),
    } as SqlSession;
  }

  add(statement: QueuedStatement): void {
    this.pending.push(statement);
  }

  /** Sends every queued statement; fails with the first statement's failure (the server skips the rest of the transaction). */
  async flush(): Promise<void> {
    const statements = this.pending;
    if (statements.length === 0) return;
    this.pending = [];
    const { target } = this;
    if (target.pipeline !== undefined && statements.length > 1) {
      const failed = await target.pipeline(statements);
      if (failed !== null) {
        const statement = statements[failed.index] as QueuedStatement;
        throw this.failure(`${firstWord(statement.sql)} statement`, failed.error, statement.table);
      }
      return;
    }
    for (const statement of statements) {
      try {
        if (statement.prepared && target.execute !== undefined) await target.execute(statement.sql, statement.params);
        else await target.query(statement.sql, statement.params);
      } catch (error) {
        throw this.failure(`${firstWord(statement.sql)} statement`, error, statement.table);
      }
    }
  }
}

function firstWord(sql: string): string {
  return sql.split(' ', 1)[0] as string;
}
