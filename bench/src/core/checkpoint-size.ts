/**
 * `node bench/dist/core/checkpoint-size.js`: what the tables' definitions (`Checkpoint.schemas`) add to
 * every checkpoint a pipeline stores, for 1, 50 and 500 captured tables — the checkpoint's JSON size,
 * and the process CPU per batch of what every store does with it (`JSON.stringify`; the file
 * checkpoint store also checks it with `parseCheckpoint`), side by side with the same checkpoint
 * without definitions (the limit). With `--postgres`, also what storing it costs a Postgres sink per
 * batch: the upsert of the checkpoint row (jsonb, as the sink's) on a throwaway Postgres, its wall
 * time and the WAL it writes, with and without definitions alternately. Results: docs/benchmarks.md, "Checkpoint size".
 */
import { type Checkpoint, parseCheckpoint, type TableSchema } from '@highwater/core';
import { startPostgres } from '@highwater/test-servers';
import pg from 'pg';

/** A typical table of ten columns, one secondary index, a unique key and Postgres source ids. */
function table(i: number): TableSchema {
  const columns: TableSchema['columns'] = [
    { name: 'id', type: { kind: 'int64' }, nativeType: 'bigint', nullable: false },
    { name: 'customer_id', type: { kind: 'int64' }, nativeType: 'bigint', nullable: false },
    { name: 'email', type: { kind: 'string', length: 255 }, nativeType: 'character varying(255)', nullable: false },
    { name: 'name', type: { kind: 'string', length: 120 }, nativeType: 'character varying(120)', nullable: true },
    {
      name: 'amount',
      type: { kind: 'decimal', precision: 12, scale: 2 },
      nativeType: 'numeric(12,2)',
      nullable: false,
      default: '0',
    },
    {
      name: 'status',
      type: { kind: 'enum', values: ['new', 'paid', 'shipped', 'cancelled'] },
      nativeType: 'order_status',
      nullable: false,
      default: "'new'::order_status",
    },
    { name: 'paid', type: { kind: 'boolean' }, nativeType: 'boolean', nullable: false, default: 'false' },
    { name: 'attributes', type: { kind: 'json' }, nativeType: 'jsonb', nullable: true },
    {
      name: 'created_at',
      type: { kind: 'timestamptz', precision: 6 },
      nativeType: 'timestamp with time zone',
      nullable: false,
      default: 'now()',
    },
    { name: 'note', type: { kind: 'string' }, nativeType: 'text', nullable: true },
  ];
  return {
    id: { schema: 'public', name: `orders_${i}` },
    columns,
    primaryKey: ['id'],
    chunkKey: ['id'],
    indexes: [{ name: `orders_${i}_customer`, columns: ['customer_id'], unique: false }],
    uniqueKeys: [['email']],
    sourceIds: { table: 16_384 + i, columns: Object.fromEntries(columns.map((c, n) => [c.name, n + 1])) },
  } as TableSchema;
}

function checkpoint(tables: number, withSchemas: boolean): Checkpoint {
  const schemas = Array.from({ length: tables }, (_, i) => table(i));
  return {
    version: 1,
    connector: 'postgres',
    position: { lsn: '0/16B3748', txid: '7781' },
    complete: false,
    tables: Object.fromEntries(schemas.map((s) => [`public.${s.id.name}`, { phase: 'stream' as const }])),
    ...(withSchemas ? { schemas: Object.fromEntries(schemas.map((s) => [`public.${s.id.name}`, s])) } : {}),
  };
}

/** Process CPU (user + system) in microseconds per call of `f`, over enough calls to take ~0.3 s. */
function cpuPerCall(f: () => unknown): number {
  let calls = 0;
  const start = process.cpuUsage();
  const until = performance.now() + 300;
  while (performance.now() < until) {
    for (let i = 0; i < 10; i++) f();
    calls += 10;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

const rows: string[] = [];
for (const n of [1, 50, 500]) {
  const figures = [false, true].map((withSchemas) => {
    const c = checkpoint(n, withSchemas);
    const bytes = Buffer.byteLength(JSON.stringify(c));
    // Alternate the two sides' runs a few times; keep the lowest (least disturbed) of each.
    return { c, bytes };
  });
  const [without, withDefs] = figures as [(typeof figures)[0], (typeof figures)[0]];
  const best = (f: () => unknown) => Math.min(...Array.from({ length: 3 }, () => cpuPerCall(f)));
  const stringifyLimit = best(() => JSON.stringify(without.c));
  const stringify = best(() => JSON.stringify(withDefs.c));
  const parseLimit = best(() => parseCheckpoint(JSON.parse(JSON.stringify(without.c)), 'bench'));
  const parse = best(() => parseCheckpoint(JSON.parse(JSON.stringify(withDefs.c)), 'bench'));
  rows.push(
    `| ${n} | ${without.bytes} | ${withDefs.bytes} | ${stringifyLimit.toFixed(1)} | ${stringify.toFixed(1)} | ${parseLimit.toFixed(1)} | ${parse.toFixed(1)} |`,
  );
}
console.log(
  '| tables | bytes without schemas | bytes with | stringify µs without | with | stringify+parse+check µs without | with |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);

/** The Postgres sink's checkpoint upsert, `reps` times per side, alternately: ms and WAL bytes per upsert. */
async function postgresUpserts(tables: number, reps: number): Promise<string> {
  const server = await startPostgres();
  const client = new pg.Client({ connectionString: server.url });
  try {
    await client.connect();
    await client.query(
      'CREATE TABLE cp (pipeline text PRIMARY KEY, checkpoint jsonb NOT NULL, stored_at timestamptz NOT NULL)',
    );
    const texts = [false, true].map((w) => JSON.stringify(checkpoint(tables, w)));
    const totals = [
      { ms: 0, wal: 0n },
      { ms: 0, wal: 0n },
    ];
    const lsn = async () => BigInt((await client.query("SELECT pg_current_wal_lsn() - '0/0' AS b")).rows[0].b);
    for (let r = 0; r < reps + 2; r++) {
      for (const side of r % 2 === 0 ? [0, 1] : [1, 0]) {
        const before = await lsn();
        const start = performance.now();
        await client.query(
          `INSERT INTO cp VALUES ('p', $1::jsonb, now())
             ON CONFLICT (pipeline) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, stored_at = EXCLUDED.stored_at`,
          [texts[side]],
        );
        const ms = performance.now() - start;
        const wal = (await lsn()) - before;
        const total = totals[side] as { ms: number; wal: bigint };
        if (r >= 2) {
          total.ms += ms;
          total.wal += wal;
        }
      }
    }
    const [a, b] = totals as [{ ms: number; wal: bigint }, { ms: number; wal: bigint }];
    return `| ${tables} | ${(a.ms / reps).toFixed(2)} | ${(b.ms / reps).toFixed(2)} | ${a.wal / BigInt(reps)} | ${b.wal / BigInt(reps)} |`;
  } finally {
    await client.end().catch(() => undefined);
    await server.stop();
  }
}

if (process.argv.includes('--postgres')) {
  const lines: string[] = [];
  for (const n of [1, 50, 500]) lines.push(await postgresUpserts(n, 40));
  console.log('\n| tables | upsert ms without | with | WAL bytes without | with |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const l of lines) console.log(l);
}
