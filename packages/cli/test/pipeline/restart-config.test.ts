import { ConfigError } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';

const base = `
source:
  adapter: postgres
  connection: postgres://cdc@db:5432/shop
  tables: { include: ['public.*'] }
sink:
  type: stdout
`;

describe('the restart section of a pipeline file', () => {
  it('defaults to 10 restarts from 1 s up to 60 s', () => {
    expect(parsePipeline(base, '/p/a.yaml', {}).config.restart).toEqual({
      attempts: 10,
      initialDelayMs: 1_000,
      maxDelayMs: 60_000,
    });
  });

  it('takes attempts and delays, missing ones from the defaults', () => {
    const p = parsePipeline(`${base}restart: { attempts: 0, initialDelayMs: 50 }\n`, '/p/a.yaml', {});
    expect(p.config.restart).toEqual({ attempts: 0, initialDelayMs: 50, maxDelayMs: 60_000 });
  });

  it('names the field for a bad value or an unknown key', () => {
    for (const [yaml, field] of [
      ['restart: { attempts: -1 }', 'restart.attempts'],
      ['restart: { initialDelayMs: 5000, maxDelayMs: 10 }', 'restart.maxDelayMs'],
      ['restart: { retries: 3 }', 'restart'],
    ] as const) {
      let error: unknown;
      try {
        parsePipeline(`${base}${yaml}\n`, '/p/a.yaml', {});
      } catch (e) {
        error = e;
      }
      expect(error, yaml).toBeInstanceOf(ConfigError);
      expect((error as Error).message, yaml).toContain(field);
    }
  });
});
