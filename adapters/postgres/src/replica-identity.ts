import { DatabaseSetupError, type TableId, type TableSchema, tableName } from '@highwater/core';
import { qualifiedName } from './sql/identifiers.js';
import type { Queryable } from './sql/queryable.js';

/**
 * Per leaf table (the table itself, or every partition of a partitioned root): its replica identity
 * and the columns it consists of (`null` when the server has none to log: no primary key under
 * DEFAULT, NOTHING, or a dropped identity index). Replica identity is per partition, so the leaves
 * are what counts.
 */
const IDENTITY_QUERY = `
SELECT n.nspname, c.relname, c.relreplident AS ident,
       (SELECT json_agg(a.attname ORDER BY k.ord)
          FROM pg_index i
          JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid
           AND CASE c.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END
       )::text AS columns
  FROM (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf
        UNION SELECT $1::regclass WHERE NOT EXISTS (SELECT FROM pg_partition_tree($1::regclass))) p
  JOIN pg_class c ON c.oid = p.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 ORDER BY 1, 2`;

interface Leaf {
  readonly nspname: string;
  readonly relname: string;
  readonly ident: string;
  readonly columns: string | null;
}

/**
 * Why the table's updates and deletes cannot be captured with the given chunk key, or null when
 * they can. The before-image of an update or delete is the replica identity, so it must identify the
 * row and hold the chunk key (the core finds the row's chunk by it).
 */
export async function replicaIdentityProblem(
  db: Queryable,
  id: TableId,
  chunkKey: readonly string[],
): Promise<string | null> {
  const leaves = (await db.query<Leaf>(IDENTITY_QUERY, [qualifiedName(id)])).rows;
  for (const leaf of leaves) {
    const leafId = { schema: leaf.nspname, name: leaf.relname };
    const where =
      leaf.nspname === (id.schema ?? 'public') && leaf.relname === id.name
        ? `table ${tableName(id)}`
        : `partition ${tableName(leafId)} of ${tableName(id)}`;
    const fix = `run \`ALTER TABLE ${qualifiedName(leafId)} REPLICA IDENTITY FULL;\` (or \`… REPLICA IDENTITY USING INDEX <index>\` with a unique index on non-null columns${chunkKey.length > 0 ? ` that include ${chunkKey.join(', ')}` : ''})`;
    if (leaf.ident === 'f') continue;
    const columns = leaf.columns === null ? null : (JSON.parse(leaf.columns) as string[]);
    if (columns === null) {
      const why =
        leaf.ident === 'n'
          ? 'has REPLICA IDENTITY NOTHING'
          : leaf.ident === 'i'
            ? 'has REPLICA IDENTITY USING INDEX on an index that no longer exists'
            : 'has no primary key and REPLICA IDENTITY DEFAULT';
      return (
        `postgres: ${where} ${why}, so the server logs nothing that identifies the row an UPDATE or DELETE changed ` +
        `(and refuses UPDATE and DELETE on it once it is in a publication): ${fix}`
      );
    }
    const missing = chunkKey.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      return (
        `postgres: the chunk key of ${tableName(id)} (${chunkKey.join(', ')}) is not in the replica identity of ${where} ` +
        `(${columns.join(', ')}), so update and delete events would not carry it: ${fix}`
      );
    }
  }
  return null;
}

/**
 * Throws a `DatabaseSetupError` naming the table and the `ALTER TABLE` to run when a table cannot be
 * captured. A table gone already (dropped while the pipeline was down) is left out: the log reader
 * reports it dropped.
 */
export async function requireReplicaIdentity(db: Queryable, tables: readonly TableSchema[]): Promise<void> {
  for (const t of tables) {
    // As text: some of the adapter's connections leave every value unparsed.
    const found = await db.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [qualifiedName(t.id)]);
    if ((found.rows[0]?.r ?? null) === null) continue;
    const problem = await replicaIdentityProblem(db, t.id, t.chunkKey);
    if (problem !== null) throw new DatabaseSetupError(problem);
  }
}
