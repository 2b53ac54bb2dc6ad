import type { Queryable } from './sql/queryable.js';

/** `pg_current_snapshot()`: xmin, xmax and the transactions in progress, as 64-bit xids. */
export interface XidSnapshot {
  readonly xmin: bigint;
  readonly xmax: bigint;
  readonly xip: ReadonlySet<bigint>;
}

/** Parses `pg_snapshot` text: `xmin:xmax:xip1,xip2,…`. */
export function parseSnapshot(text: string): XidSnapshot {
  const [xmin, xmax, xip = ''] = text.split(':');
  if (xmin === undefined || xmax === undefined) throw new Error(`not a pg_snapshot: ${text}`);
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: new Set(xip === '' ? [] : xip.split(',').map((x) => BigInt(x))),
  };
}

export async function currentSnapshot(db: Queryable): Promise<XidSnapshot> {
  const result = await db.query<{ s: string }>('SELECT pg_current_snapshot()::text AS s');
  return parseSnapshot((result.rows[0] as { s: string }).s);
}
