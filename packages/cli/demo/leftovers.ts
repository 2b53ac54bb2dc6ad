import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DIR_PREFIX = 'highwater-demo-';
const PIDS_FILE = 'pids';

/** Records a process the demo started, so a later demo can end it if this one is killed (SIGKILL) before it cleans up. */
export function recordPid(dir: string, pid: number | undefined): void {
  if (pid === undefined) return;
  const file = path.join(dir, PIDS_FILE);
  const known = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, `${known}${pid}\n`);
}

/**
 * Removes what an earlier demo left when it was killed without a chance to clean up: its servers
 * (found through their `postmaster.pid`), its pipeline process and its temporary directory. Only
 * directories whose demo process is gone are touched, and only processes whose command line names
 * that directory or the highwater command.
 */
export function sweepLeftovers(tmp: string): void {
  let entries: string[];
  try {
    entries = readdirSync(tmp).filter((name) => name.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = path.join(tmp, name);
    const pidsFile = path.join(dir, PIDS_FILE);
    if (!existsSync(pidsFile)) continue;
    const [owner, ...children] = readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number);
    if (owner === undefined || isAlive(owner)) continue;
    for (const pid of children) {
      if (commandLine(pid)?.includes('highwater.js')) kill(pid);
    }
    for (const server of ['source', 'target']) {
      const pidFile = path.join(dir, server, 'data', 'postmaster.pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (commandLine(pid)?.includes(dir)) kill(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** SIGKILL, ignoring a process that is already gone. */
export function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
