import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signalGroup, signalProcess, waitGroupGone } from './process.js';
import { releasePostgresSharedMemory } from './shm.js';
import type { ServerKind } from './types.js';

/** Temporary directories start with these, so leftovers are easy to recognise (and sweep). */
export const TEMP_DIR_PREFIX: Readonly<Record<ServerKind, string>> = {
  postgres: 'highwater-pg-',
  mariadb: 'highwater-mariadb-',
  nats: 'highwater-nats-',
};

/** Written into every temporary directory: who owns it, so a later run can tell a leftover from a live server. */
export const OWNER_FILE = 'highwater-owner.json';

export interface OwnerRecord {
  readonly kind: ServerKind;
  /** The Node process that started the server. */
  readonly ownerPid: number;
  /** The server process (group leader), once started. */
  readonly serverPid?: number;
  readonly createdAt: string;
}

export function makeTempDir(kind: ServerKind, tmpRoot?: string): string {
  return mkdtempSync(join(tmpRoot ?? tmpdir(), TEMP_DIR_PREFIX[kind]));
}

export function writeOwner(dir: string, record: OwnerRecord): void {
  writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify(record)}\n`);
}

function readOwner(dir: string): OwnerRecord | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Partial<OwnerRecord>;
    if (record.kind !== 'postgres' && record.kind !== 'mariadb' && record.kind !== 'nats') return undefined;
    if (typeof record.ownerPid !== 'number') return undefined;
    return {
      kind: record.kind,
      ownerPid: record.ownerPid,
      ...(typeof record.serverPid === 'number' ? { serverPid: record.serverPid } : {}),
      createdAt: typeof record.createdAt === 'string' ? record.createdAt : '',
    };
  } catch {
    return undefined;
  }
}

/** True / false when /proc tells whether `pid`'s command line mentions `dir`; undefined when it cannot tell. */
function commandMentions(pid: number, dir: string): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
}

/** Removes a directory, retrying while dying processes still write into it. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
}

/**
 * Removes temporary directories left by test processes that died without cleaning up (e.g. SIGKILLed): those whose
 * owner process is gone. A server still running in one is killed first, but only when /proc confirms that the process
 * runs on that directory. Directories whose owner is alive, or that cannot be judged safely, are left alone. Returns
 * the directories removed. Runs automatically once per process, before the first throwaway server starts.
 */
export async function sweepLeftovers(options: { tmpRoot?: string } = {}): Promise<string[]> {
  const root = options.tmpRoot ?? tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  const prefixes = Object.values(TEMP_DIR_PREFIX);
  for (const entry of entries) {
    if (!prefixes.some((prefix) => entry.startsWith(prefix))) continue;
    const dir = join(root, entry);
    const owner = readOwner(dir);
    if (owner === undefined || owner.ownerPid === process.pid || signalProcess(owner.ownerPid, 0)) continue;
    if (owner.serverPid !== undefined && signalProcess(owner.serverPid, 0)) {
      const mentions = commandMentions(owner.serverPid, dir);
      if (mentions === undefined) continue;
      if (mentions) {
        signalGroup(owner.serverPid, 'SIGKILL');
        await waitGroupGone(owner.serverPid);
      }
    }
    if (owner.kind === 'postgres') releasePostgresSharedMemory(join(dir, 'data'));
    try {
      removeDir(dir);
      removed.push(dir);
    } catch {
      // not ours to fight over
    }
  }
  return removed;
}

const sweptRoots = new Set<string>();

/** Sweeps `tmpRoot` once per process (errors ignored). */
export async function sweepOnce(tmpRoot?: string): Promise<void> {
  const root = tmpRoot ?? tmpdir();
  if (sweptRoots.has(root)) return;
  sweptRoots.add(root);
  try {
    await sweepLeftovers({ tmpRoot: root });
  } catch {
    // sweeping is a courtesy
  }
}
