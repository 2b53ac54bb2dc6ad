import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCommand } from '../../src/commands/init.js';
import { loadPipeline } from '../../src/pipeline/load-pipeline.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-init-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('highwater init asks for what the flags leave out', () => {
  it('asks each question once, re-asks a bad choice, and writes a file the loader accepts', async () => {
    const questions: string[] = [];
    const answers = ['mysql', 'kafka', 'file'];
    const out: string[] = [];
    const file = join(dir, 'asked.yaml');
    const code = await initCommand(
      file,
      { connection: 'mysql://cdc@db.internal:3306/shop', check: false },
      {
        env: {},
        ask: async (question, fallback) => {
          questions.push(question);
          if (question.startsWith('Tables')) return fallback ?? '';
          return answers.shift() ?? '';
        },
        stdout: (t) => out.push(t),
        stderr: (t) => out.push(t),
      },
    );
    expect(code, out.join('')).toBe(0);
    expect(questions).toEqual([
      'Source database (postgres/mysql)',
      'Tables to capture (patterns, comma-separated)',
      'Sink (file/stdout/postgres/mysql)',
      'Sink (file/stdout/postgres/mysql)',
    ]);
    const pipeline = await loadPipeline(file, {});
    expect(pipeline.config.source.adapter).toBe('mysql');
    expect(pipeline.config.source.tables.include).toEqual(['shop.*']);
    expect(pipeline.config.sink).toMatchObject({ type: 'file', path: 'asked.events.jsonl' });
    expect(await readFile(file, 'utf8')).toContain('# The checkpoint is kept in asked.checkpoint.json');
  });

  it('writes every source and sink combination as a file the loader accepts', async () => {
    for (const source of ['postgres', 'mysql'] as const) {
      for (const sink of ['file', 'stdout', 'postgres', 'mysql'] as const) {
        const file = join(dir, `${source}-${sink}.yaml`);
        const code = await initCommand(
          file,
          {
            source,
            connection: `${source}://cdc:pw@db:1234/shop?ssl=true`,
            sink,
            sinkConnection: `${sink}://writer:pw2@target/analytics`,
            sinkSchema: 'replica',
            check: false,
          },
          { env: {}, ask: null, stdout: () => {}, stderr: (t) => expect.fail(t) },
        );
        expect(code).toBe(0);
        const text = await readFile(file, 'utf8');
        expect(text).not.toMatch(/:pw2?@/);
        const pipeline = await loadPipeline(file, { HIGHWATER_SOURCE_PASSWORD: 's', HIGHWATER_TARGET_PASSWORD: 't' });
        expect(pipeline.config.source.adapter).toBe(source);
        expect(pipeline.config.sink.type).toBe(sink);
        expect(pipeline.secrets).toContain('s');
      }
    }
  });
});
