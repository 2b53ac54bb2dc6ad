import type { Queryable } from '../sql/queryable.js';
import { parseArrayText } from './array-text.js';
import type { PgType } from './pg-type.js';

interface TypeRow {
  readonly oid: number;
  readonly typname: string;
  readonly typtype: string;
  readonly typcategory: string;
  readonly typelem: number;
  readonly typbasetype: number;
  readonly typdelim: string;
  readonly labels: readonly string[] | null;
}

const TYPE_QUERY = `
SELECT t.oid::int8 AS oid, t.typname, t.typtype, t.typcategory, t.typelem::int8 AS typelem,
       t.typbasetype::int8 AS typbasetype, t.typdelim,
       CASE WHEN t.typtype = 'e' THEN
         (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
       END AS labels
  FROM pg_type t
 WHERE t.oid = ANY($1::oid[])`;

/**
 * Resolves type oids (from `pg_attribute` or from pgoutput relation messages) to {@link PgType}s,
 * following domains to their base type and arrays to their element. Cached per connection; enum
 * labels added later are not seen until a new catalog is made (the values decode regardless).
 */
export class TypeCatalog {
  private readonly types = new Map<number, PgType>();

  constructor(private readonly db: Queryable) {}

  async resolve(oids: Iterable<number>): Promise<Map<number, PgType>> {
    const rows = new Map<number, TypeRow>();
    let pending = [...new Set(oids)].filter((o) => !this.types.has(o));
    while (pending.length > 0) {
      const result = await this.db.query<Record<string, unknown>>(TYPE_QUERY, [pending]);
      const next: number[] = [];
      for (const raw of result.rows) {
        const row = toTypeRow(raw);
        rows.set(row.oid, row);
        for (const dep of [row.typelem, row.typbasetype]) {
          if (dep !== 0 && !rows.has(dep) && !this.types.has(dep)) next.push(dep);
        }
      }
      for (const oid of pending) if (!rows.has(oid)) throw new Error(`postgres: unknown type oid ${oid}`);
      pending = next;
    }
    const build = (oid: number): PgType => {
      const known = this.types.get(oid);
      if (known !== undefined) return known;
      const row = rows.get(oid);
      if (row === undefined) throw new Error(`postgres: unknown type oid ${oid}`);
      let type: PgType;
      if (row.typtype === 'd') type = build(row.typbasetype);
      else if (row.typtype === 'e') type = { kind: 'enum', name: row.typname, labels: row.labels ?? [] };
      else if (row.typcategory === 'A' && row.typelem !== 0) {
        type = { kind: 'array', name: row.typname, element: build(row.typelem), delimiter: row.typdelim };
      } else if (row.typtype === 'b') type = { kind: 'base', name: row.typname };
      else type = { kind: 'other', name: row.typname };
      this.types.set(oid, type);
      return type;
    };
    const out = new Map<number, PgType>();
    for (const oid of oids) out.set(oid, build(oid));
    return out;
  }
}

function toTypeRow(raw: Record<string, unknown>): TypeRow {
  const labels = raw.labels;
  return {
    oid: Number(raw.oid),
    typname: String(raw.typname),
    typtype: String(raw.typtype),
    typcategory: String(raw.typcategory),
    typelem: Number(raw.typelem),
    typbasetype: Number(raw.typbasetype),
    typdelim: String(raw.typdelim),
    // Every value arrives as text (the adapter's connections parse nothing): `{sad,happy}`.
    labels: typeof labels === 'string' ? parseArrayText(labels, ',', (t) => t).map(String) : null,
  };
}
