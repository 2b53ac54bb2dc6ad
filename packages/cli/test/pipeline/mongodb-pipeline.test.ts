import { ConfigError } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import { createAdapter } from '../../src/sources/create-adapter.js';

const pipeline = (options: string) => `
source:
  adapter: mongodb
  connection: mongodb://cdc:\${MONGO_PASSWORD}@db1:27017,db2:27017/?replicaSet=rs0
  tables: { include: ['shop.*'] }
${options}
sink:
  type: stdout
`;

describe('pipelines with adapter: mongodb', () => {
  it('accept the adapter and its options, and build a mongodb adapter', async () => {
    const p = parsePipeline(
      pipeline(
        '  options: { changelog: normalize, databases: [shop], normalizeStore: { directory: /var/lib/hw/images } }',
      ),
      '/etc/hw/orders.yaml',
      { MONGO_PASSWORD: 'pw' },
    );
    expect(p.config.source.adapter).toBe('mongodb');
    const adapter = await createAdapter(p.config.source, p.name);
    expect(adapter.name).toBe('mongodb');
    // normalize has no addTables (a table added later would need its own seeding read).
    expect(adapter.capabilities.addTables).toBe(false);
    expect(
      (await createAdapter(parsePipeline(pipeline(''), 'x.yaml', { MONGO_PASSWORD: 'pw' }).config.source, 'x'))
        .capabilities.addTables,
    ).toBe(true);
  });

  it('refuse an unknown changelog mode, naming the field', () => {
    try {
      parsePipeline(pipeline('  options: { changelog: lookup }'), 'p.yaml', { MONGO_PASSWORD: 'pw' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('source.options.changelog');
    }
  });
});
