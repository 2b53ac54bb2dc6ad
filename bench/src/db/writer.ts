/**
 * Child process of the latency benchmarks: `node writer.js '{"kind":…}'` writes single-row
 * autocommit INSERTs at a steady rate for a number of seconds, each stamped with the database's own
 * clock (microseconds since the epoch) in `written_us` while the statement runs, i.e. just before
 * its commit. In its own process, so the writing does not share the consumer's event loop. Prints
 * `{"written", "seconds"}` on its last stdout line.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';

export interface WriterArgs {
  readonly kind: 'postgres' | 'mysql';
  readonly url: string;
  /** Qualified (Postgres) or plain (MySQL, in the URL's database) table name. */
  readonly table: string;
  readonly rate: number;
  readonly seconds: number;
}

export interface WriterResult {
  readonly written: number;
  readonly seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as WriterArgs;
  let insert: (i: number) => Promise<unknown>;
  let close: () => Promise<void>;
  if (args.kind === 'postgres') {
    const client = new pg.Client(args.url);
    await client.connect();
    const text =
      `INSERT INTO ${args.table} (written_us, customer_id, amount, note) ` +
      'VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::int8, $1, $2, $3)';
    insert = (i) => client.query({ name: 'insert', text, values: [i % 100_000, (i % 100_000) / 100, `note ${i}`] });
    close = () => client.end();
  } else {
    const url = new URL(args.url);
    const connection = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
    });
    const text =
      `INSERT INTO ${args.table} (written_us, customer_id, amount, note) ` +
      'VALUES (CAST(UNIX_TIMESTAMP(SYSDATE(6)) * 1000000 AS SIGNED), ?, ?, ?)';
    insert = (i) => connection.execute(text, [i % 100_000, ((i % 100_000) / 100).toFixed(2), `note ${i}`]);
    close = () => connection.end();
  }
  const started = performance.now();
  const end = started + args.seconds * 1000;
  let written = 0;
  for (;;) {
    const due = started + (written * 1000) / args.rate;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
    await insert(written);
    written++;
  }
  const seconds = (performance.now() - started) / 1000;
  await close();
  const result: WriterResult = { written, seconds };
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
