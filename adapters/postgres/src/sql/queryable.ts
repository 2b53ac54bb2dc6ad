import type pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import { isConnectionError } from '../errors.js';

/** What the adapter needs from a `pg` client or pool: parameterised queries. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * A client whose queries run one after another even when callers overlap (the core calls an
 * introspector from several chunk workers at once; `pg` deprecates overlapping `query` calls).
 *
 * With `reconnect`, a query that fails because the connection is gone drops the client and the
 * next query opens a new one: the core retries a lost connection by calling again, and expects the
 * same introspector to work after a server restart.
 */
export class SerialClient implements Queryable {
  private tail: Promise<unknown> = Promise.resolve();
  private current: pg.Client | null;
  private closed = false;

  constructor(
    client: pg.Client,
    private readonly reconnect?: () => Promise<pg.Client>,
  ) {
    this.current = client;
  }

  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>> {
    return this.enqueue((client) => client.query<R>(text, values));
  }

  /** Rows as arrays of column values (raw text or null), in select-list order. */
  async queryArrays(text: string, values: unknown[] = []): Promise<(string | null)[][]> {
    const result = await this.enqueue((client) => client.query({ text, values, rowMode: 'array' }));
    return result.rows as (string | null)[][];
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.current;
    this.current = null;
    await client?.end().catch(() => undefined);
  }

  private enqueue<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
    const next = this.tail.then(async () => {
      const client = await this.connected();
      try {
        return await run(client);
      } catch (error) {
        if (this.reconnect !== undefined && isConnectionError(error) && this.current === client) {
          this.current = null;
          await client.end().catch(() => undefined);
        }
        throw error;
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async connected(): Promise<pg.Client> {
    if (this.current !== null) return this.current;
    if (this.closed || this.reconnect === undefined) throw new Error('Connection terminated: client is closed');
    this.current = await this.reconnect();
    return this.current;
  }
}
