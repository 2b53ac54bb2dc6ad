import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, highwater } from './e2e/cli.js';

/** `${NAME}`, the pipeline file's environment reference. */
const ref = (name: string) => `$${'{'}${name}}`;

let dir: string;
beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-bin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the highwater command', () => {
  it('prints its version and help with examples', async () => {
    const version = await highwater(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await highwater(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('run [options] <pipeline>');
    expect(help.stdout).toContain('Examples:');
    const runHelp = await highwater(['run', '--help']);
    expect(runHelp.stdout).toContain('--progress <mode>');
    expect(runHelp.stdout).toContain('Exit codes:');
  });

  it('exits 2 with one message for a missing argument, an unknown option or a bad choice', async () => {
    for (const args of [['run'], ['run', 'x.yaml', '--nope'], ['run', 'x.yaml', '--progress=maybe'], ['frobnicate']]) {
      const result = await highwater(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: /);
    }
  });

  it('exits 2 naming the file and the field for a bad pipeline file, and the variable for a missing secret', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      `source:\n  adapter: postgres\n  connection: postgres://u:${ref('PW')}@h/db\n  tables: { include: [a.b] }\n  chunkSize: 0\nsink: { type: stdout }\n`,
    );
    const bad = await highwater(['run', file], { PW: 'hunter2' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`highwater run: ${file}: invalid pipeline:`);
    expect(bad.stderr).toContain('source.chunkSize:');
    expect(bad.stderr).not.toContain('hunter2');
    expect(bad.stdout).toBe('');

    const unsetFile = join(dir, 'unset.yaml');
    await writeFile(unsetFile, (await readFile(file, 'utf8')).replace(ref('PW'), ref('HW_TEST_NEVER_SET')));
    const unset = await highwater(['status', unsetFile]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(`source.connection uses ${ref('HW_TEST_NEVER_SET')}`);
    const missing = await highwater(['run', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('cannot read the pipeline file');
  });

  it('words a bad sink.type or source.adapter as the other messages: the field, what was given, what is allowed', async () => {
    const file = join(dir, 'wrong-kinds.yaml');
    await writeFile(
      file,
      `source:\n  adapter: postgress\n  connection: postgres://u@h/db\n  tables: { include: [a.b] }\nsink:\n  type: kafka\n`,
    );
    const result = await highwater(['run', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('  source.adapter: "postgress" is not one of postgres, mysql, oracle, mongodb\n');
    expect(result.stderr).toContain('  sink.type: "kafka" is not one of stdout, file, postgres, mysql\n');
    expect(result.stderr).not.toMatch(/Invalid (discriminator|input|option)/);

    // Other kinds of mistakes, and a given value that came from a secret is not printed.
    await writeFile(
      file,
      `source:\n  adapter: postgres\n  connection: postgres://u@h/db\n  tables: { include: [] }\n  chunkSize: many\nsink:\n  type: stdout\n  format: ${ref('HW_FORMAT')}\nmetrics: { port: 70000 }\n`,
    );
    const other = await highwater(['run', file], { HW_FORMAT: 'hunter2secret' });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('  source.tables.include: needs at least 1 entry, got an empty list\n');
    expect(other.stderr).toContain('  source.chunkSize: expected a number, got "many"\n');
    expect(other.stderr).toContain('  sink.format: "***" is not one of native, debezium\n');
    expect(other.stderr).toContain('  metrics.port: must be at most 65535, got 70000\n');
    expect(other.stderr).not.toContain('hunter2secret');
    expect(other.stderr).not.toMatch(/Invalid (discriminator|input|option)|Too (small|big)/);
  });

  it('prints the status of a pipeline that never ran', async () => {
    const file = join(dir, 'fresh.yaml');
    await writeFile(
      file,
      'source:\n  adapter: postgres\n  connection: postgres://u@h/db\n  tables: { include: [a.b] }\nsink: { type: stdout }\n',
    );
    const result = await highwater(['status', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no checkpoint stored yet');
  });
});
