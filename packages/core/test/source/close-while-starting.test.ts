import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A source closed while it starts (a pipeline stopped by SIGTERM before its source was up) must
// close at once. It once started chunk readers for ever after such a close: each ended at once on
// the closed source, and the loop that kept `parallelism` of them running never ended, filling the
// heap within seconds. That loop is synchronous, so no test timeout can interrupt it in-process:
// the case runs in its own Node process (built packages, `npx tsc -b` first) with a small heap and
// must print that it closed and exit 0.
const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

const script = (resume: boolean) => `
import { MemoryDatabase, memoryAdapter } from '@highwater/memory';
import { createSource } from '@highwater/core';
const db = new MemoryDatabase();
db.createTable({ name: 'app.t', columns: [{ name: 'id', type: { kind: 'int32' } }], primaryKey: ['id'] });
db.insertMany('app.t', Array.from({ length: 100 }, (_, id) => ({ id })));
let resumeFrom = null;
if (${resume}) {
  // A checkpoint whose snapshot is stored: the next start only streams.
  const first = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] } });
  for await (const batch of first) {
    resumeFrom = batch.checkpoint;
    if (Object.values(batch.checkpoint.tables).every((t) => t.phase === 'stream')) break;
  }
  await first.close();
}
const source = createSource({ adapter: memoryAdapter(db), tables: { include: ['app.t'] }, parallelism: 4, resumeFrom });
const started = source.start();
await source.close();
await started.catch(() => undefined);
console.log('closed', source.metrics().state);
`;

function runNode(code: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--max-old-space-size=64', '--input-type=module', '-e', code],
      { cwd: root, timeout: 20_000, killSignal: 'SIGKILL' },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe('a source closed while it starts', () => {
  it.each([
    ['a first start (snapshot)', false],
    ['a resumed start (stream)', true],
  ])(
    '%s closes at once, starting no reader',
    async (_name, resume) => {
      const result = await runNode(script(resume));
      expect(result.stderr.slice(0, 2000)).toBe('');
      expect(result.stdout.trim()).toBe('closed closed');
      expect(result.code).toBe(0);
    },
    30_000,
  );
});
