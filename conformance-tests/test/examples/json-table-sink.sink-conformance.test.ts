import { mkdtemp, rm } from 'node:fs/promises';
import type { Row } from '@highwater/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSinkConformanceTests, type SinkHarness } from '../../src/sink/index.js';
import { jsonTableSink, readJsonTables } from './json-table-sink.js';

// The harness of docs/writing-a-sink.md, run on its example sink.
let dir = '';
const fileOf = (target: string) => join(dir, `${target}.json`);

const harness: SinkHarness = {
  name: 'json-tables (the docs example)',
  stores: 'tables',
  storesCheckpoints: true,
  async start() {
    dir = await mkdtemp(join(tmpdir(), 'highwater-json-tables-'));
  },
  async stop() {
    await rm(dir, { recursive: true, force: true });
  },
  async createSink(target) {
    return jsonTableSink(fileOf(target));
  },
  async readBack(target, schemas) {
    const stored = await readJsonTables(fileOf(target));
    // A column a row was written without (added to the table later) reads as null.
    const tables = new Map<string, Row[]>();
    for (const schema of schemas) {
      const name = `${schema.id.schema}.${schema.id.name}`;
      const rows = Object.values(stored.tables[name] ?? {});
      tables.set(
        name,
        rows.map((row) => Object.fromEntries(schema.columns.map((c) => [c.name, row[c.name] ?? null]))),
      );
    }
    return { checkpoint: stored.checkpoint, data: { kind: 'tables', tables } };
  },
  async abandon(sink, _target, pending) {
    // In one process nothing can stop the write half-way; the atomic rename is what makes a real crash safe.
    await pending.catch(() => undefined);
    await sink.close();
  },
};

registerSinkConformanceTests({ harness });
