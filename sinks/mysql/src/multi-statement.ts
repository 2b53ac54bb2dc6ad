import type mysql from 'mysql2/promise';
import type { SessionStatement } from '@highwater/sink-sql';

/**
 * The most bytes of statements one multi-statement query carries. MariaDB's `max_allowed_packet` is
 * 16 MiB by default (MySQL's 64 MiB); a batch's statements beyond this go in further queries, still
 * in order and inside the same transaction.
 */
export const PIPELINE_BYTES = 4 << 20;

/** The callback connection under mysql2's promise wrapper, and the query command it returns. */
interface CoreConnection {
  format(sql: string, values: unknown[]): string;
  query(sql: string, callback: (error: unknown) => void): { readonly _resultIndex?: unknown };
}

/**
 * Sends `statements` as few multi-statement queries as fit in {@link PIPELINE_BYTES} (one for a
 * stream batch: `START TRANSACTION`, the deletes and upserts, the checkpoint and `COMMIT`), on a
 * connection opened with `multipleStatements`. The server runs a query's statements in order and
 * stops at the first that fails, so a failed statement's transaction is never committed by a later
 * `COMMIT` of the same query. Parameters are escaped into the text by mysql2, as `query` does for a
 * single statement.
 *
 * Which statement failed: mysql2 counts the results a query has answered (`_resultIndex`, one per
 * statement here, none of which returns rows); where it does not, the first statement of the query
 * is named.
 */
export async function sendStatements(
  db: mysql.Connection,
  statements: readonly SessionStatement[],
): Promise<{ readonly index: number; readonly error: unknown } | null> {
  const core = (db as unknown as { connection: CoreConnection }).connection;
  let first = 0;
  while (first < statements.length) {
    const texts: string[] = [];
    let bytes = 0;
    let next = first;
    while (next < statements.length && (texts.length === 0 || bytes < PIPELINE_BYTES)) {
      const statement = statements[next] as SessionStatement;
      const text = core.format(statement.sql, [...statement.params]);
      texts.push(text);
      bytes += text.length;
      next++;
    }
    const failed = await new Promise<{ index: number; error: unknown } | null>((resolve) => {
      const query = core.query(texts.join(';\n'), (error) => {
        if (error === null || error === undefined) {
          resolve(null);
          return;
        }
        const answered = query._resultIndex;
        const index = typeof answered === 'number' && answered >= 0 && answered < texts.length ? answered : 0;
        resolve({ index: first + index, error });
      });
    });
    if (failed !== null) return failed;
    first = next;
  }
  return null;
}
