import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Which OS user runs the server (only set when this process is root and the server refuses to run as root). */
export interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** A server process started as the leader of its own process group, so that all of its children can be signalled. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  hasExited(): boolean;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Looks an OS user up in /etc/passwd, falling back to `id`. */
export async function lookupOsUser(name: string): Promise<RunAs | undefined> {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid, gid] = line.split(':');
      if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
    }
  } catch {
    // no /etc/passwd: ask id
  }
  try {
    const uid = (await run('id', ['-u', name])).stdout.trim();
    const gid = (await run('id', ['-g', name])).stdout.trim();
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs a command to completion, rejecting with its output when it fails. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; runAs?: RunAs; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        uid: options.runAs?.uid,
        gid: options.runAs?.gid,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ stdout, stderr });
          return;
        }
        const how =
          typeof error.code === 'number'
            ? `exited with code ${error.code}`
            : error.signal
              ? `was killed by ${error.signal}`
              : error.message;
        reject(new CommandError(`${[command, ...args].join(' ')} ${how}`, stdout, stderr));
      },
    );
  });
}

/**
 * Spawns a server detached (its own process group) with stdout and stderr appended to `logFile`. The child is unref'd
 * so that a forgotten server does not keep Node alive; the exit hooks in registry.ts stop it when Node exits.
 */
export function spawnServer(
  command: string,
  args: readonly string[],
  options: { cwd: string; logFile: string; env: NodeJS.ProcessEnv; runAs?: RunAs },
): ServerProcess {
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', fd, fd],
      uid: options.runAs?.uid,
      gid: options.runAs?.gid,
    });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      // Spawning failed (no 'exit' follows) or signalling failed (the process may still run: ignore).
      if (child.pid === undefined) {
        done = true;
        resolve({ code: null, signal: null, error });
      }
    });
  });
  child.unref();
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    hasExited: () => done,
  };
}

/** Sends a signal to a whole process group; false when no process in it exists any more. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (pgid <= 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to one process; false when it does not exist. */
export function signalProcess(pid: number, signal: NodeJS.Signals | 0): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves true once the promise settles within `ms`, false on timeout. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until no process of the group is left (children of a killed leader die a moment after it). Gives up quietly
 * after `timeoutMs`: in a container without an init that reaps orphans, zombies may linger.
 */
export async function waitGroupGone(pgid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (signalGroup(pgid, 0) && Date.now() < deadline) await sleep(10);
}

/**
 * Ends a server process: sends `signal` to the leader (or, for SIGKILL, to the whole group), escalates to SIGKILL on
 * the group after `graceMs`, then waits for the group to be gone. Keeps Node alive while waiting.
 */
export async function endProcess(proc: ServerProcess, signal: NodeJS.Signals, graceMs: number): Promise<ExitStatus> {
  proc.child.ref();
  try {
    if (!proc.hasExited()) {
      if (signal === 'SIGKILL') signalGroup(proc.pid, 'SIGKILL');
      else signalProcess(proc.pid, signal);
      if (!(await within(proc.exited, graceMs))) signalGroup(proc.pid, 'SIGKILL');
    }
    const status = await proc.exited;
    await waitGroupGone(proc.pid);
    return status;
  } finally {
    proc.child.unref();
  }
}

/**
 * Throws a clear error when `runAs` cannot traverse every directory above `dir` (e.g. a tmpRoot created 0700 by
 * root): initdb would otherwise fail with a bare "Permission denied".
 */
export function assertReachable(dir: string, runAs: RunAs): void {
  for (let current = dir; ; current = dirname(current)) {
    const stat = statSync(current);
    const bit = stat.uid === runAs.uid ? 0o100 : stat.gid === runAs.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) {
      throw new Error(
        `the OS user '${runAs.name}' that runs the server cannot enter ${current} (mode ${(stat.mode & 0o777).toString(8)}); ` +
          'pass a tmpRoot it can reach, or make that directory searchable (chmod o+x)',
      );
    }
    if (dirname(current) === current) return;
  }
}
