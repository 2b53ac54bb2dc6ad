import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickFreePort, startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type CliResult, highwater } from './cli.js';
import { sql, userTables } from './target-db.js';

// What a user sees when a pipeline cannot run: one clear message naming the problem, no stack
// trace, no password, a non-zero exit code, and nothing written to the target. Connection failures
// of `highwater run` (wrong passwords, servers down, missing source privileges, on Postgres and
// MariaDB) are covered by ../connection-errors.test.ts; here: bad pipeline files (run and verify),
// `verify` against unreachable and wrongly authenticated databases, and a target user without the
// privilege to create tables.

/** Distinctive, so a leak anywhere in the output is found. */
const SOURCE_PASSWORD = 'e2e-Src-9qX4wz';
const TARGET_PASSWORD = 'e2e-Tgt-3mK8vd';
const WRONG_PASSWORD = 'e2e-Wrong-6hJ2pn';
const PASSWORDS = [SOURCE_PASSWORD, TARGET_PASSWORD, WRONG_PASSWORD];

let source: ThrowawayPostgres;
let target: ThrowawayPostgres;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'hw-e2e-errors-'));
  [source, target] = await Promise.all([
    startPostgres({ useEnv: false, password: SOURCE_PASSWORD }),
    startPostgres({ useEnv: false, password: TARGET_PASSWORD }),
  ]);
  await sql(source.url.replace('postgres@', `postgres:${SOURCE_PASSWORD}@`), [
    'CREATE SCHEMA shop',
    'CREATE TABLE shop.orders (id int PRIMARY KEY, note text)',
    "INSERT INTO shop.orders SELECT g, 'order ' || g FROM generate_series(1, 100) g",
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

const targetAdmin = () => `postgres://postgres:${TARGET_PASSWORD}@127.0.0.1:${target.port}/postgres`;
const env = { SOURCE_PW: SOURCE_PASSWORD, TARGET_PW: TARGET_PASSWORD };
const ref = (name: string) => `$${'{'}${name}}`;

/** A pipeline file whose parts can be replaced; passwords come from SOURCE_PW and TARGET_PW. */
function pipelineText(change: { source?: string[]; sink?: string[]; extra?: string[] } = {}): string {
  return [
    'name: errors',
    'source:',
    ...(change.source ?? [
      '  adapter: postgres',
      `  connection: { host: 127.0.0.1, port: ${source.port}, user: postgres, password: '${ref('SOURCE_PW')}', database: postgres }`,
      "  tables: { include: ['shop.*'] }",
    ]),
    'sink:',
    ...(change.sink ?? [
      '  type: postgres',
      `  connection: { host: 127.0.0.1, port: ${target.port}, user: postgres, password: '${ref('TARGET_PW')}', database: postgres }`,
    ]),
    ...(change.extra ?? []),
    '',
  ].join('\n');
}

async function fileWith(name: string, text: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

/** What every failure must look like: non-zero, no stack trace, no password, nothing in the target. */
async function expectCleanFailure(result: CliResult, code: number): Promise<string> {
  const output = `${result.stdout}${result.stderr}`;
  expect(result.code, output).toBe(code);
  for (const password of PASSWORDS) expect(output).not.toContain(password);
  expect(output).not.toMatch(/^\s+at .+[:(]\d+:\d+\)?$/m);
  expect(output).not.toMatch(/\b(TypeError|ReferenceError|SyntaxError|ZodError)\b/);
  expect(await userTables(targetAdmin())).toEqual([]);
  return output;
}

/** `highwater <command>` on a bad file: one message, prefixed by the command, naming the file. */
async function expectBadFile(command: 'run' | 'verify', file: string): Promise<string> {
  const result = await highwater([command, file], env);
  const output = await expectCleanFailure(result, 2);
  expect(result.stdout).toBe('');
  expect(result.stderr.match(new RegExp(`highwater ${command}: `, 'g')), output).toHaveLength(1);
  expect(result.stderr.startsWith(`highwater ${command}: ${file}`), output).toBe(true);
  return result.stderr;
}

describe('a bad pipeline file: exit code 2 and one message naming the file and the field', () => {
  for (const command of ['run', 'verify'] as const) {
    it(`highwater ${command}: not YAML`, async () => {
      const file = await fileWith(`not-yaml-${command}`, 'source: [adapter: postgres\nsink: {');
      expect(await expectBadFile(command, file)).toContain('not valid YAML');
    });

    it(`highwater ${command}: a misspelt field`, async () => {
      const file = await fileWith(
        `misspelt-${command}`,
        pipelineText({
          sink: [
            '  type: postgres',
            `  connection: postgres://postgres:${ref('TARGET_PW')}@127.0.0.1:${target.port}/postgres`,
            '  tabelNaming: table',
          ],
        }),
      );
      const message = await expectBadFile(command, file);
      expect(message).toContain('sink: unknown field tabelNaming');
    });

    it(`highwater ${command}: an adapter that does not exist`, async () => {
      const file = await fileWith(
        `adapter-${command}`,
        pipelineText({
          source: ['  adapter: db2', '  connection: db2://x@127.0.0.1/db', "  tables: { include: ['shop.*'] }"],
        }),
      );
      const message = await expectBadFile(command, file);
      expect(message).toMatch(/source\.adapter: .*postgres.*mysql.*oracle/);
    });

    it(`highwater ${command}: an environment variable that is not set`, async () => {
      const file = await fileWith(`env-${command}`, pipelineText().replaceAll(ref('SOURCE_PW'), ref('E2E_UNSET_PW')));
      const message = await expectBadFile(command, file);
      expect(message).toContain('the environment variable E2E_UNSET_PW is not set');
      expect(message).toContain('source.connection.password');
    });
  }

  it('highwater run: a number out of range', async () => {
    const file = await fileWith(
      'parallelism',
      pipelineText().replace(
        "  tables: { include: ['shop.*'] }",
        "  tables: { include: ['shop.*'] }\n  parallelism: 0",
      ),
    );
    expect(await expectBadFile('run', file)).toContain('source.parallelism');
  });

  it('highwater run: a file that does not exist', async () => {
    const file = join(dir, 'missing.yaml');
    const message = await expectBadFile('run', file);
    expect(message).toContain('cannot read the pipeline file');
  });
});

describe('highwater verify cannot reach or log in: exit code 2 and one message', () => {
  it('an unreachable source names host and port', async () => {
    const port = await pickFreePort();
    const file = await fileWith('verify-down', pipelineText().replace(`port: ${source.port}`, `port: ${port}`));
    const result = await highwater(['verify', file], env);
    const output = await expectCleanFailure(result, 2);
    expect(result.stderr.trim().split('\n'), output).toHaveLength(1);
    expect(result.stderr).toContain(`127.0.0.1:${port}`);
  });

  // Worded as `highwater run` words them (../connection-errors.test.ts): the sink's failures say
  // "sink" and sink.connection, the source's come from the source adapter; both name host:port.
  const sinkAuth = () =>
    `highwater verify: postgres sink: authentication failed for user "postgres" at 127.0.0.1:${target.port}: ` +
    "check sink.connection's user and password\n";

  it('a wrong target password says it is the sink, with host:port and what to check', async () => {
    const file = await fileWith('verify-password', pipelineText());
    const result = await highwater(['verify', file], { ...env, TARGET_PW: WRONG_PASSWORD });
    const output = await expectCleanFailure(result, 2);
    expect(result.stderr, output).toBe(sinkAuth());
  });

  it('a wrong target password with sink.schema set (the target is read at once) says the same', async () => {
    const file = await fileWith(
      'verify-password-schema',
      pipelineText({
        sink: [
          '  type: postgres',
          `  connection: { host: 127.0.0.1, port: ${target.port}, user: postgres, password: '${ref('TARGET_PW')}', database: postgres }`,
          '  schema: shop',
        ],
      }),
    );
    const result = await highwater(['verify', file], { ...env, TARGET_PW: WRONG_PASSWORD });
    const output = await expectCleanFailure(result, 2);
    expect(result.stderr, output).toBe(sinkAuth());
  });

  it('an unreachable target says it is the sink, with host:port', async () => {
    const port = await pickFreePort();
    const file = await fileWith('verify-target-down', pipelineText().replace(`port: ${target.port}`, `port: ${port}`));
    const result = await highwater(['verify', file], env);
    const output = await expectCleanFailure(result, 2);
    expect(result.stderr, output).toBe(
      `highwater verify: postgres sink: cannot connect to 127.0.0.1:${port}: connection refused: check that the ` +
        "server is running and sink.connection's host and port\n",
    );
  });

  it("a wrong source password is the source adapter's message, with host:port, not the sink", async () => {
    const file = await fileWith('verify-source-password', pipelineText());
    const result = await highwater(['verify', file], { ...env, SOURCE_PW: WRONG_PASSWORD });
    const output = await expectCleanFailure(result, 2);
    expect(result.stderr, output).toBe(
      `highwater verify: postgres: authentication failed for user "postgres" at 127.0.0.1:${source.port}: ` +
        'check the user name and password of the connection\n',
    );
  });
});

describe('highwater run without the privilege to create target tables', () => {
  it('says what to grant, exits 4 (a database to set up), and creates nothing', async () => {
    await sql(targetAdmin(), [
      `CREATE ROLE e2e_loader LOGIN PASSWORD '${TARGET_PASSWORD}'`,
      // Connect is granted to PUBLIC; CREATE on schema public is not (Postgres 15+), so revoke it
      // explicitly for older servers.
      'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    ]);
    const file = await fileWith(
      'no-create',
      pipelineText({
        sink: [
          '  type: postgres',
          `  connection: { host: 127.0.0.1, port: ${target.port}, user: e2e_loader, password: '${ref('TARGET_PW')}', database: postgres }`,
        ],
      }),
    );
    const result = await highwater(['run', file, '--log-format=json'], env);
    const output = await expectCleanFailure(result, 4);
    const errors = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((l) => l.level === 'error' || l.level === 'fatal');
    expect(errors, output).toHaveLength(1);
    expect(errors[0]!.msg).toMatch(/permission denied/);
    expect(errors[0]!.msg).toMatch(/GRANT/);
  });
});
