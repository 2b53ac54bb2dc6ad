/** Something that can be stopped synchronously from an exit or signal handler. */
export interface EmergencyStoppable {
  /** Kills the server and removes its directory, synchronously (no awaiting is possible in an 'exit' handler). */
  emergencyStop(): void;
}

const live = new Set<EmergencyStoppable>();
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type HandledSignal = (typeof signals)[number];
let installed = false;

function stopAll(): void {
  const servers = [...live];
  live.clear();
  for (const server of servers) {
    try {
      server.emergencyStop();
    } catch {
      // best effort: the process is going away
    }
  }
  uninstall();
}

function onExit(): void {
  stopAll();
}

const signalHandlers = new Map<HandledSignal, () => void>(
  signals.map((signal) => [
    signal,
    () => {
      stopAll();
      // We were the only handler: do what the signal would have done without us (terminate with it).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    },
  ]),
);

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
}

/**
 * Registers a running throwaway server so that it is killed and its directory removed when the process exits or gets
 * SIGINT / SIGTERM / SIGHUP. The hooks are installed while at least one server is registered, and removed after.
 */
export function register(server: EmergencyStoppable): void {
  live.add(server);
  install();
}

export function unregister(server: EmergencyStoppable): void {
  live.delete(server);
  if (live.size === 0) uninstall();
}

/** How many throwaway servers this process has running (for tests). */
export function liveServerCount(): number {
  return live.size;
}
