import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Removes the small SysV shared-memory segment a Postgres server leaves behind when it dies without shutting down
 * (SIGKILL): its id is on line 7 of postmaster.pid. Without this every killed-then-discarded server would leak one
 * segment (the kernel allows ~4096). After a clean shutdown postmaster.pid is gone and there is nothing to do.
 * Synchronous, best effort; needs `ipcrm` (util-linux, or the BSD one on macOS).
 */
export function releasePostgresSharedMemory(dataDir: string): void {
  let pidFile: string;
  try {
    pidFile = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return;
  }
  const fields = (pidFile.split('\n')[6] ?? '').trim().split(/\s+/);
  const shmid = fields[1];
  if (shmid === undefined || !/^\d+$/.test(shmid)) return;
  spawnSync('ipcrm', ['-m', shmid], { stdio: 'ignore', timeout: 5_000 });
}
