import { decodeRedo, OpenTransactions, type OracleColumn, oracleColumn, RedoRowDecoder } from '@highwater/oracle';
import { type Measurement, median, type RunPlan, sideBySide } from '../core/measure.js';

/**
 * `npm run bench -- oracle`: the Oracle adapter's CPU-bound parts, on synthetic LogMiner output (no
 * Oracle server can run here — the text is in the format the adapter's simulator writes and its
 * property test checks; stated as such in docs/benchmarks.md).
 *
 * - SQL_REDO: statements parsed and typed per second by the adapter (`decodeRedo`: one pass,
 *   each value typed through the table definition), against the limit of a bare regex tokenizer
 *   splitting the same text into tokens (no parsing, no values).
 * - Transaction buffer: changes buffered and released per second by the adapter's per-transaction
 *   buffer (interleaved transactions, a partial rollback in each), against pushing the same objects
 *   into one array.
 */

const COLUMNS: readonly OracleColumn[] = [
  oracleColumn('ID', 'NUMBER', { precision: 19, scale: 0 }),
  oracleColumn('CUSTOMER', 'VARCHAR2', { length: 200 }),
  oracleColumn('AMOUNT', 'NUMBER', { precision: 12, scale: 2 }),
  oracleColumn('CREATED', 'TIMESTAMP(6)'),
  oracleColumn('UPDATED', 'TIMESTAMP(6) WITH TIME ZONE'),
  oracleColumn('TOKEN', 'RAW', { length: 16 }),
  oracleColumn('NOTE', 'NVARCHAR2', { length: 200 }),
  oracleColumn('STATUS', 'VARCHAR2', { length: 20 }),
];

function statement(i: number): string {
  const values = [
    `'${i}'`,
    `'Customer ''${i % 977}'' of Zürich'`,
    `'${(i * 37) % 100000}.${String(i % 100).padStart(2, '0')}'`,
    `TO_TIMESTAMP('2024-02-29 13:${String(i % 60).padStart(2, '0')}:00.123456000')`,
    `TO_TIMESTAMP_TZ('2024-02-29 13:45:00.000000000 +02:00')`,
    `HEXTORAW('${(i * 2654435761).toString(16).padStart(32, '0').slice(-32).toUpperCase()}')`,
    i % 3 === 0 ? 'NULL' : `UNISTR('caf\\00E9 ${i}')`,
    `'${['NEW', 'PAID', 'SHIPPED'][i % 3]}'`,
  ];
  const names = COLUMNS.map((c) => `"${c.name}"`);
  if (i % 2 === 0) return `insert into "SHOP"."ORDERS"(${names.join(',')}) values (${values.join(',')});`;
  const where = names.map((n, k) => (values[k] === 'NULL' ? `${n} IS NULL` : `${n} = ${values[k]}`)).join(' and ');
  return `update "SHOP"."ORDERS" set "STATUS" = 'PAID', "AMOUNT" = '12.50' where ${where};`;
}

const TOKEN = /"(?:[^"]|"")*"|'(?:[^']|'')*'|[A-Za-z_][\w$#]*|-?\d[\d.eE+-]*|\|\||[(),.=;]/g;

async function redoBenchmark(count: number, plan: RunPlan) {
  const texts = Array.from({ length: count }, (_, i) => statement(i));
  const decoder = new RedoRowDecoder(COLUMNS);
  let sink = 0;
  const limit = async (): Promise<Measurement> => {
    const t = performance.now();
    let tokens = 0;
    for (const text of texts) tokens += text.match(TOKEN)?.length ?? 0;
    sink += tokens;
    return { seconds: (performance.now() - t) / 1000, count, extra: { tokens } };
  };
  const highwater = async (): Promise<Measurement> => {
    const t = performance.now();
    for (const text of texts) {
      const s = decodeRedo(text, decoder);
      sink += Object.keys(s.values).length + (s.before === null ? 0 : Object.keys(s.before).length);
    }
    return { seconds: (performance.now() - t) / 1000, count, extra: {} };
  };
  const r = await sideBySide(plan, limit, highwater);
  if (sink < 0) console.log(sink);
  return r;
}

async function bufferBenchmark(count: number, plan: RunPlan) {
  const texts = Array.from({ length: 64 }, (_, i) => statement(i));
  const changes = Array.from({ length: count }, (_, i) => ({
    operationCode: i % 2 === 0 ? 1 : 3,
    owner: 'SHOP',
    table: 'ORDERS',
    sqlRedo: texts[i % 64] as string,
  }));
  const TX = 50;
  let sink = 0;
  const limit = async (): Promise<Measurement> => {
    const t = performance.now();
    const all: unknown[] = [];
    for (const c of changes) all.push(c);
    sink += all.length;
    return { seconds: (performance.now() - t) / 1000, count, extra: {} };
  };
  const highwater = async (): Promise<Measurement> => {
    const t = performance.now();
    const open = new OpenTransactions();
    let released = 0;
    for (let i = 0; i < changes.length; i++) {
      const xid = `TX${i % TX}`;
      const tx = open.open(xid, BigInt(i));
      tx.add(changes[i] as (typeof changes)[number]);
      // Every 1000th change is undone by a rollback to a savepoint; every transaction ends after 2000 changes.
      if (i % 1000 === 999)
        tx.undo({
          ...(changes[i] as (typeof changes)[number]),
          operationCode: changes[i]?.operationCode === 1 ? 2 : 3,
        });
      if (i % (TX * 2000) >= TX * 2000 - TX) released += open.close(xid)?.size ?? 0;
    }
    for (let k = 0; k < TX; k++) released += open.close(`TX${k}`)?.size ?? 0;
    sink += released;
    return { seconds: (performance.now() - t) / 1000, count, extra: {} };
  };
  const r = await sideBySide(plan, limit, highwater);
  if (sink < 0) console.log(sink);
  return r;
}

const rate = (ms: readonly Measurement[]) => median(ms.map((m) => m.count / m.seconds));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The Oracle benchmarks as a Markdown table. */
export async function oracleBenchmarks(quick: boolean, plan: RunPlan): Promise<string> {
  const redoCount = quick ? 20_000 : 200_000;
  const bufferCount = quick ? 200_000 : 2_000_000;
  const redo = await redoBenchmark(redoCount, plan);
  const buffer = await bufferBenchmark(bufferCount, plan);
  const rows = [
    [
      'SQL_REDO parse + type (statements/s)',
      `${fmt(redoCount)} statements, 8 columns, half updates`,
      rate(redo.limit),
      rate(redo.highwater),
      'bare regex tokenizer of the same text',
    ],
    [
      'transaction buffer (changes/s)',
      `${fmt(bufferCount)} changes in 50 interleaved transactions`,
      rate(buffer.limit),
      rate(buffer.highwater),
      'Array.push of the same objects',
    ],
  ] as const;
  return [
    'Oracle adapter benchmarks (SIMULATED LogMiner output: synthetic SQL_REDO in the format the simulator writes; no Oracle server)',
    '',
    '| What | Size | Limit | Highwater | Ratio | Limit is |',
    '| --- | --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      ([what, size, l, h, is]) => `| ${what} | ${size} | ${fmt(l)} | ${fmt(h)} | ${(h / l).toFixed(2)} | ${is} |`,
    ),
  ].join('\n');
}
