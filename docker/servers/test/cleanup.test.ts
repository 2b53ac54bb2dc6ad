import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_FILE, sweepLeftovers } from '../src/index.js';
import { mariadbInstalled, postgresInstalled } from './helpers.js';

/**
 * These tests run the package in a child Node process (its sources transpiled to plain JS), start both servers there
 * and end that process in the ways a test run ends: normally, by process.exit(), by an uncaught exception, by SIGTERM,
 * by SIGKILL (then the next run's sweep must clean up).
 */

interface ChildInfo {
  readonly dirs: string[];
  readonly pids: number[];
  readonly shmid: string;
}

/** Which servers a child starts: every end is tried with each kind at least once, without starting both every time. */
type Servers = 'both' | 'postgres' | 'mariadb';

const CHILD = `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// The starters' own modules, not index.js: that also loads the MongoDB simulator, whose bson import cannot be
// resolved from this temporary directory.
import { startMariadb } from './mariadb.js';
import { startPostgres } from './postgres.js';
const [mode, servers, tmpRoot] = process.argv.slice(2);
const pg = servers === 'mariadb' ? undefined : await startPostgres({ useEnv: false, tmpRoot });
const db = servers === 'postgres' ? undefined : await startMariadb({ useEnv: false, tmpRoot });
const pidFile = pg === undefined ? [] : readFileSync(join(pg.dataDir, 'postmaster.pid'), 'utf8').split('\\n');
const shmid = (pidFile[6] ?? '').trim().split(/\\s+/)[1] ?? '';
if (mode === 'kill-then-exit') await pg.kill();
const handles = [pg, db].filter((handle) => handle !== undefined);
const info = { dirs: handles.map((h) => h.tempDir), pids: handles.map((h) => h.pid ?? -1), shmid };
process.stdout.write(JSON.stringify(info) + '\\n');
if (mode === 'exit' || mode === 'kill-then-exit') process.exit(3);
if (mode === 'throw') throw new Error('boom');
if (mode === 'wait') setInterval(() => {}, 1000);
// mode 'end': nothing keeps the event loop alive, so Node ends by itself with the servers still running
`;

let build: string;
let root: string;

beforeAll(() => {
  build = mkdtempSync(join(tmpdir(), 'hw-test-build-'));
  const src = new URL('../src/', import.meta.url);
  for (const file of readdirSync(src)) {
    if (!file.endsWith('.ts')) continue;
    const source = readFileSync(new URL(file, src), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    writeFileSync(join(build, file.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(join(build, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(build, 'child.js'), CHILD);
  root = mkdtempSync(join(tmpdir(), 'hw-test-root-'));
  chmodSync(root, 0o755); // the postgres OS user must reach it when the tests run as root
});

afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function shmExists(shmid: string): boolean | undefined {
  try {
    return readFileSync('/proc/sysvipc/shm', 'utf8')
      .split('\n')
      .some((line) => line.trim().split(/\s+/)[1] === shmid);
  } catch {
    return undefined;
  }
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** Starts the child; resolves with what it printed once both servers run, and its exit. */
function runChild(
  mode: string,
  servers: Servers,
  tmpRoot: string,
): { child: ChildProcess; info: Promise<ChildInfo>; exit: Promise<[number | null, NodeJS.Signals | null]> } {
  const child = spawn(process.execPath, [join(build, 'child.js'), mode, servers, tmpRoot], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  );
  const info = new Promise<ChildInfo>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) resolve(JSON.parse(line) as ChildInfo);
    });
    void exit.then(() => reject(new Error(`child exited before starting its servers:\n${stderr}`)));
  });
  return { child, info, exit };
}

async function expectCleanedUp(info: ChildInfo): Promise<void> {
  for (const pid of info.pids) if (pid > 0) expect(await eventually(() => !alive(pid))).toBe(true);
  for (const dir of info.dirs) expect(existsSync(dir)).toBe(false);
  if (info.shmid !== '' && shmExists(info.shmid) !== undefined) {
    expect(await eventually(() => shmExists(info.shmid) === false)).toBe(true);
  }
}

describe.runIf(postgresInstalled && mariadbInstalled)('cleanup when the test process ends', () => {
  const cases: [string, Servers, (exit: [number | null, NodeJS.Signals | null]) => void][] = [
    ['end', 'both', ([code]) => expect(code).toBe(0)],
    ['exit', 'mariadb', ([code]) => expect(code).toBe(3)],
    ['kill-then-exit', 'postgres', ([code]) => expect(code).toBe(3)],
    ['throw', 'postgres', ([code]) => expect(code).toBe(1)],
  ];
  it.concurrent.each(cases)(
    '%s (%s): servers and directories are gone',
    async (mode, servers, checkExit) => {
      const { info, exit } = runChild(mode, servers, root);
      const started = await info;
      expect(started.dirs.every((dir) => existsSync(dir))).toBe(true);
      checkExit(await exit);
      await expectCleanedUp(started);
    },
    120_000,
  );

  const signals: [NodeJS.Signals, Servers][] = [
    ['SIGTERM', 'both'],
    ['SIGINT', 'mariadb'],
    ['SIGHUP', 'postgres'],
  ];
  it.concurrent.each(signals)(
    '%s (%s): servers and directories are gone, and the process still dies of it',
    async (signal, servers) => {
      const { child, info, exit } = runChild('wait', servers, root);
      const started = await info;
      child.kill(signal);
      expect(await exit).toEqual([null, signal]);
      await expectCleanedUp(started);
    },
    120_000,
  );

  it('after SIGKILL nothing can run in the process: the next sweep kills the servers and removes the directories', async () => {
    const own = mkdtempSync(join(tmpdir(), 'hw-test-sweep-'));
    chmodSync(own, 0o755);
    try {
      const { child, info, exit } = runChild('wait', 'both', own);
      const started = await info;
      child.kill('SIGKILL');
      await exit;
      expect(started.pids.every(alive)).toBe(true);
      expect(started.dirs.every((dir) => existsSync(dir))).toBe(true);
      const removed = await sweepLeftovers({ tmpRoot: own });
      expect(removed.sort()).toEqual([...started.dirs].sort());
      await expectCleanedUp(started);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('sweepLeftovers', () => {
  it('removes directories whose owner process is gone and keeps the rest', async () => {
    const own = mkdtempSync(join(tmpdir(), 'hw-test-sweep-'));
    try {
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
      const make = (name: string, owner?: object): string => {
        const dir = join(own, name);
        mkdirSync(dir);
        if (owner !== undefined) writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
        return dir;
      };
      const dead = make('highwater-pg-dead', { kind: 'postgres', ownerPid: deadPid, serverPid: deadPid });
      const deadMaria = make('highwater-mariadb-dead', { kind: 'mariadb', ownerPid: deadPid });
      const living = make('highwater-mariadb-living', { kind: 'mariadb', ownerPid: process.ppid });
      const ownerless = make('highwater-pg-no-owner-file');
      const foreign = make('something-else', { kind: 'postgres', ownerPid: deadPid });
      expect((await sweepLeftovers({ tmpRoot: own })).sort()).toEqual([deadMaria, dead].sort());
      expect([living, ownerless, foreign].every((dir) => existsSync(dir))).toBe(true);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
