import type { ManagedServer } from './managed.js';
import type { StartTimings, ThrowawayServer } from './types.js';

export interface ManagedInfo {
  readonly scheme: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  readonly tempDir: string;
  readonly logFile: string;
}

/** The public face of a throwaway server this package started. */
export class ManagedHandle implements Omit<ThrowawayServer, 'kind'> {
  readonly external = false;
  readonly host = '127.0.0.1';
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly dataDir: string;
  readonly tempDir: string;
  readonly logFile: string;

  constructor(
    protected readonly server: ManagedServer,
    private readonly info: ManagedInfo,
  ) {
    this.user = info.user;
    this.password = info.password;
    this.database = info.database;
    this.dataDir = info.dataDir;
    this.tempDir = info.tempDir;
    this.logFile = info.logFile;
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    const credentials =
      encodeURIComponent(this.user) + (this.password === '' ? '' : `:${encodeURIComponent(this.password)}`);
    return `${this.info.scheme}://${credentials}@${this.host}:${this.port}/${encodeURIComponent(this.database)}`;
  }

  get pid(): number | undefined {
    return this.server.pid;
  }

  get running(): boolean {
    return this.server.running;
  }

  get timings(): StartTimings {
    return this.server.timings;
  }

  readLog(): Promise<string> {
    return this.server.readLog();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  restart(): Promise<void> {
    return this.server.restart();
  }

  kill(): Promise<void> {
    return this.server.kill();
  }
}
