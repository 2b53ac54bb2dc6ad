import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { MissingBinaryError } from './errors.js';

export interface PostgresBinaries {
  readonly binDir: string;
  readonly initdb: string;
  readonly postgres: string;
}

export interface MariadbBinaries {
  readonly mariadbd: string;
  readonly installDb: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
}

function unique(dirs: readonly string[]): string[] {
  return [...new Set(dirs)];
}

/** `/usr/lib/postgresql/<major>/bin` directories (Debian, Ubuntu), newest major first. */
function debianPostgresDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a))
      .map((major) => `/usr/lib/postgresql/${major}/bin`);
  } catch {
    return [];
  }
}

/**
 * Finds `initdb` and `postgres` in one directory: `binDir`, else `HIGHWATER_POSTGRES_BIN_DIR`, else `PATH`,
 * `/usr/lib/postgresql/<newest>/bin` and a few usual install locations.
 */
export function findPostgresBinaries(binDir?: string): PostgresBinaries {
  const explicit = binDir ?? process.env.HIGHWATER_POSTGRES_BIN_DIR;
  const dirs =
    explicit !== undefined && explicit !== ''
      ? [explicit]
      : unique([
          ...pathDirs(),
          ...debianPostgresDirs(),
          '/usr/local/pgsql/bin',
          '/opt/homebrew/bin',
          '/usr/local/bin',
          '/usr/pgsql/bin',
        ]);
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (isExecutable(initdb) && isExecutable(postgres)) return { binDir: dir, initdb, postgres };
  }
  const where =
    explicit !== undefined && explicit !== '' ? `in ${explicit}` : 'on PATH or in /usr/lib/postgresql/*/bin';
  throw new MissingBinaryError(
    `Cannot start a throwaway Postgres: initdb and postgres not found ${where}. ` +
      'Install the server (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`), ' +
      'set HIGHWATER_POSTGRES_BIN_DIR to the directory holding initdb and postgres, ' +
      'or set HIGHWATER_POSTGRES_URL=postgres://user:password@host:port/database to use a running server ' +
      'that has wal_level=logical.',
  );
}

function isMariadbServer(path: string): boolean {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.includes('MariaDB');
}

/**
 * Finds `mariadbd` and `mariadb-install-db` (or the older `mysqld` / `mysql_install_db` names, when `mysqld` is
 * MariaDB's): in `binDir`, else `HIGHWATER_MARIADB_BIN_DIR`, else `PATH`, `/usr/sbin` and usual locations.
 */
export function findMariadbBinaries(binDir?: string): MariadbBinaries {
  const explicit = binDir ?? process.env.HIGHWATER_MARIADB_BIN_DIR;
  const dirs =
    explicit !== undefined && explicit !== ''
      ? [explicit, join(dirname(explicit), 'scripts')]
      : unique([
          ...pathDirs(),
          '/usr/sbin',
          '/usr/bin',
          '/usr/local/sbin',
          '/usr/local/bin',
          '/opt/homebrew/bin',
          '/usr/local/mysql/bin',
          '/usr/local/mysql/scripts',
        ]);
  const find = (names: readonly string[], accept: (path: string) => boolean = () => true): string | undefined => {
    for (const name of names) {
      for (const dir of dirs) {
        const path = join(dir, name);
        if (isExecutable(path) && accept(path)) return path;
      }
    }
    return undefined;
  };
  const mariadbd = find(['mariadbd']) ?? find(['mysqld'], isMariadbServer);
  const installDb = find(['mariadb-install-db', 'mysql_install_db']);
  if (mariadbd !== undefined && installDb !== undefined) return { mariadbd, installDb };
  const missing = [mariadbd === undefined ? 'mariadbd' : '', installDb === undefined ? 'mariadb-install-db' : '']
    .filter((name) => name !== '')
    .join(' and ');
  const where = explicit !== undefined && explicit !== '' ? `in ${explicit}` : 'on PATH or in /usr/sbin';
  throw new MissingBinaryError(
    `Cannot start a throwaway MariaDB: ${missing} not found ${where}. ` +
      'Install the server (Debian/Ubuntu: `apt-get install mariadb-server`; macOS: `brew install mariadb`), ' +
      'set HIGHWATER_MARIADB_BIN_DIR to the directory holding mariadbd, ' +
      'or set HIGHWATER_MYSQL_URL=mysql://user:password@host:port/database to use a running MySQL or MariaDB server ' +
      'with log_bin=ON, binlog_format=ROW and binlog_row_image=FULL.',
  );
}

/**
 * Finds `nats-server`: `binary`, else `HIGHWATER_NATS_SERVER`, else `PATH`, `/usr/sbin` (Debian's
 * package puts it there) and usual locations.
 */
export function findNatsServer(binary?: string): string {
  const explicit = binary ?? process.env.HIGHWATER_NATS_SERVER;
  if (explicit !== undefined && explicit !== '') {
    if (isExecutable(explicit)) return explicit;
    throw new MissingBinaryError(`Cannot start a throwaway NATS server: ${explicit} is not an executable file.`);
  }
  for (const dir of unique([...pathDirs(), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/opt/homebrew/bin'])) {
    const path = join(dir, 'nats-server');
    if (isExecutable(path)) return path;
  }
  throw new MissingBinaryError(
    'Cannot start a throwaway NATS server: nats-server not found on PATH or in /usr/sbin. ' +
      'Install it (Debian/Ubuntu: `apt-get install nats-server`; macOS: `brew install nats-server`), ' +
      'set HIGHWATER_NATS_SERVER to its path, or set HIGHWATER_NATS_URL=nats://host:4222 to use a running server ' +
      'with JetStream enabled.',
  );
}
