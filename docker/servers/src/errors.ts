/** The binaries needed to start a throwaway server are not installed (or not where we looked). */
export class MissingBinaryError extends Error {
  override readonly name: string = 'MissingBinaryError';
}

/** A throwaway server could not be initialised or did not come up; `log` holds the tail of its log. */
export class ServerStartError extends Error {
  override readonly name: string = 'ServerStartError';
  readonly log: string;

  constructor(message: string, log: string) {
    super(log.trim() === '' ? message : `${message}\n--- server log (tail) ---\n${log.trimEnd()}`);
    this.log = log;
  }
}

/** The server exited because its port was taken between picking it and binding it: retried on another port. */
export class PortInUseError extends ServerStartError {
  override readonly name: string = 'PortInUseError';
}

/** Last `maxLines` lines of a log. */
export function tail(text: string, maxLines = 60): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-maxLines).join('\n');
}
