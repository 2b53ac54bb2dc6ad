import type pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';

/** What the adapter needs from a `pg` client or pool: parameterised queries. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * A client whose queries run one after another even when callers overlap (the core calls an
 * introspector from several chunk workers at once; `pg` deprecates overlapping `query` calls).
 */
export class SerialClient implements Queryable {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly client: pg.Client) {}

  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.enqueue(() => this.client.query<R>(text, values));
  }

  /** Rows as arrays of column values (raw text or null), in select-list order. */
  async queryArrays(text: string, values: unknown[] = []): Promise<(string | null)[][]> {
    const result = await this.enqueue(() => this.client.query({ text, values, rowMode: 'array' }));
    return result.rows as (string | null)[][];
  }

  private enqueue<T>(run: () => Promise<T>): Promise<T> {
    const next = this.tail.then(run);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
