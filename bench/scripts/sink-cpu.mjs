/**
 * CPU time per event of `SqlSink.write` alone: batches of the e2e stream workload (inserts, updates
 * and deletes of 4-column rows, 16,384 events a batch) planned and encoded for a session that sends
 * nothing (on MySQL the statements are still formatted by mysql2, as sending them would).
 *
 *   npm run build && node bench/scripts/sink-cpu.mjs [postgres|mysql] [batches]
 */
import { SqlSink } from '@highwater/sink-sql';
import { postgresDialect } from '@highwater/sink-postgres';
import { mysqlDialect } from '@highwater/sink-mysql';
import mysql2 from 'mysql2';

const which = process.argv[2] ?? 'postgres';
const batches = Number(process.argv[3] ?? 40);
const BATCH = 16384;
const base = which === 'postgres' ? postgresDialect : mysqlDialect;
let sentBytes = 0;
const session = {
  async query(sql, params) {
    if (/pg_attribute a JOIN pg_type/.test(sql))
      return [
        { name: 'aid', type: 'integer', is_array: 'f' },
        { name: 'bid', type: 'integer', is_array: 'f' },
        { name: 'abalance', type: 'integer', is_array: 'f' },
        { name: 'filler', type: 'character varying', is_array: 'f' },
      ];
    if (/FROM pg_attribute|information_schema.COLUMNS/.test(sql))
      return [
        { attname: 'aid', attnotnull: 't', c: 'aid', n: 'NO' },
        { attname: 'bid', attnotnull: 't', c: 'bid', n: 'NO' },
        { attname: 'abalance', attnotnull: 't', c: 'abalance', n: 'NO' },
        { attname: 'filler', attnotnull: 'f', c: 'filler', n: 'YES' },
      ];
    if (/SELECT 1 FROM pg_namespace|SCHEMATA/.test(sql)) return [{ x: 1 }];
    if (which === 'mysql' && params?.length) sentBytes += mysql2.format(sql, params).length;
    else for (const p of params ?? []) sentBytes += typeof p === 'string' ? p.length : String(p).length;
    return [];
  },
  async execute(_sql, params) {
    for (const p of params) sentBytes += typeof p === 'string' ? p.length : 8;
  },
  async load(_sql, data) {
    for (const piece of data) sentBytes += piece.length;
  },
  async close() {},
};
const dialect = { ...base, connect: async () => session };
const schema = {
  id: { schema: 'public', name: 'accounts_stream' },
  columns: [
    { name: 'aid', type: { kind: 'int32' }, nativeType: 'integer', nullable: false },
    { name: 'bid', type: { kind: 'int32' }, nativeType: 'integer', nullable: false },
    { name: 'abalance', type: { kind: 'int32' }, nativeType: 'integer', nullable: false },
    { name: 'filler', type: { kind: 'string', length: 84 }, nativeType: 'character', nullable: true },
  ],
  primaryKey: ['aid'],
  chunkKey: ['aid'],
};
const logger = { info() {}, warn() {}, debug() {} };
const sink = new SqlSink(
  dialect,
  { type: which, connection: 'x', schema: 'hw', createTables: true },
  { pipelineName: 'p', logger, describeTables: async () => [schema], capturedTables: async () => [schema] },
);
const row = (g, plus = 0) => ({
  aid: g,
  bid: Math.floor((g - 1) / 100000) + 1,
  abalance: (g % 1000) + plus,
  filler: String(g).padEnd(84, 'x'),
});
let t = 0;
const change = (op, key, before, after, beforeImage, source) => ({
  kind: 'change',
  op,
  key,
  before,
  after,
  beforeImage,
  unknownColumns: [],
  source,
});
function makeBatch() {
  const events = [];
  while (events.length < BATCH) {
    const info = (i) => ({
      connector: 'postgres',
      table: 'public.accounts_stream',
      tableId: schema.id,
      opTs: 1,
      offset: `{"commitLsn":"0/${t}","lsn":"0/${i}","seq":0}`,
      txId: String(t),
      snapshot: false,
    });
    for (let g = 2 * t + 1; g <= 2 * t + 2; g++) events.push(change('c', { aid: g }, null, row(g), 'none', info(g)));
    if (t > 0) {
      const u = 2 * (t - 1) + 1;
      events.push(change('u', { aid: u }, row(u), row(u, 1), 'full', info(u)));
      const d = 2 * (t - 1) + 2;
      events.push(change('d', { aid: d }, row(d), null, 'full', info(d)));
    }
    t++;
  }
  return { events, checkpoint: { version: 1, position: { t }, tables: {} } };
}
await sink.open();
const all = [];
for (let i = 0; i < batches; i++) all.push(makeBatch());
for (let i = 0; i < 3; i++) await sink.write(all[i]);
const cpu = process.cpuUsage();
const started = performance.now();
let n = 0;
for (let i = 3; i < batches; i++) {
  await sink.write(all[i]);
  n += all[i].events.length;
}
const c = process.cpuUsage(cpu);
console.log(
  `${which}: ${((c.user + c.system) / n).toFixed(3)} µs/event cpu, ${(((performance.now() - started) * 1000) / n).toFixed(3)} µs/event wall, ${(sentBytes / 1e6).toFixed(0)} MB`,
);
