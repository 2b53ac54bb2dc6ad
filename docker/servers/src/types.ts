/** Which starter made a handle. A `mariadb` handle on `HIGHWATER_MYSQL_URL` may point at a MySQL server. */
export type ServerKind = 'postgres' | 'mariadb' | 'nats';

/** How long the last initialisation and start took, in milliseconds. */
export interface StartTimings {
  /** `initdb` / `mariadb-install-db`; 0 for an external server. */
  readonly initMs: number;
  /** Spawning the server until it accepted connections, for the most recent (re)start; 0 for an external server. */
  readonly startMs: number;
}

/** A database server for one test run: either a throwaway one this package started, or an external one from the environment. */
export interface ThrowawayServer {
  readonly kind: ServerKind;
  /** Connection URL, e.g. `postgres://postgres@127.0.0.1:41234/postgres` or `mysql://root@127.0.0.1:41235/highwater`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Empty string when the server needs none. */
  readonly password: string;
  readonly database: string;
  /**
   * True when the handle points at a server named by an environment variable: this package neither started it nor
   * stops it, and `restart()` / `kill()` reject.
   */
  readonly external: boolean;
  /** The server's data directory (inside the temporary directory); undefined for an external server. */
  readonly dataDir: string | undefined;
  /** The temporary directory holding data, socket and log; removed by `stop()`. Undefined for an external server. */
  readonly tempDir: string | undefined;
  /** The server's log file (stdout and stderr of the server process). Undefined for an external server. */
  readonly logFile: string | undefined;
  /** Process id of the running server (the process-group leader); undefined when not running or external. */
  readonly pid: number | undefined;
  /** Whether a throwaway server process is currently running (always true for an external server). */
  readonly running: boolean;
  readonly timings: StartTimings;
  /** The server log so far ('' for an external server). */
  readLog(): Promise<string>;
  /**
   * Stops the server (no shutdown checkpoint: its data is discarded) and removes the temporary directory. Calling it
   * again, or concurrently, is harmless. A no-op for an external server.
   */
  stop(): Promise<void>;
  /**
   * Shuts the server down cleanly and starts it again on the same data directory and port; resolves once it accepts
   * connections again. After `kill()` it simply starts the server again (crash recovery).
   */
  restart(): Promise<void>;
  /**
   * Crashes the server: SIGKILL to its whole process group, so nothing is flushed or shut down. The data directory
   * stays; call `restart()` to recover or `stop()` to discard it.
   */
  kill(): Promise<void>;
}

export interface ThrowawayPostgres extends ThrowawayServer {
  readonly kind: 'postgres';
  /** The directory holding the server's unix socket (`.s.PGSQL.<port>`); undefined for an external server. */
  readonly socketDir: string | undefined;
}

export interface ThrowawayMariadb extends ThrowawayServer {
  readonly kind: 'mariadb';
  /** The server's unix socket file; undefined for an external server. */
  readonly socket: string | undefined;
}

/** Options shared by both servers. */
export interface CommonStartOptions {
  /**
   * Honour the environment variable that names an existing server (`HIGHWATER_POSTGRES_URL` /
   * `HIGHWATER_MYSQL_URL`). Default true; pass false to always start a throwaway server.
   */
  readonly useEnv?: boolean;
  /**
   * Directory holding the server binaries. Default: `HIGHWATER_POSTGRES_BIN_DIR` / `HIGHWATER_MARIADB_BIN_DIR`, else
   * the usual install locations and `PATH`.
   */
  readonly binDir?: string;
  /** Where the temporary directory is created. Default `os.tmpdir()`. */
  readonly tmpRoot?: string;
  /** How long to wait for the server to accept connections after spawning it. Default 30 000 ms. */
  readonly startTimeoutMs?: number;
}

export interface StartPostgresOptions extends CommonStartOptions {
  /** Name of the bootstrap superuser (it has REPLICATION). Default `postgres`. */
  readonly user?: string;
  /**
   * Superuser password. When set, TCP connections must authenticate with scram-sha-256 (unix-socket connections stay
   * trusted); when unset (default), every local and TCP connection is trusted.
   */
  readonly password?: string;
  /** Locale for initdb (`--locale`). Default `C`. */
  readonly locale?: string;
  /** Extra server settings, passed as `-c name=value`; they override the defaults (e.g. `{ max_wal_senders: 4 }`). */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /** OS user that runs initdb and postgres when this process runs as root. Default `postgres`. */
  readonly osUser?: string;
}

export interface StartMariadbOptions extends CommonStartOptions {
  /** Database created on first start and put in the URL. Default `highwater`. */
  readonly database?: string;
  /** Extra `mariadbd` arguments, appended after the defaults (so `--binlog-row-image=MINIMAL` overrides). */
  readonly args?: readonly string[];
}
