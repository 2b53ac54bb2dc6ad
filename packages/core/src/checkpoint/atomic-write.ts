import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces the file at `path` with `text`, atomically and durably: writes a temporary file next to
 * it (`.<name>.<16 hex digits>.tmp`), fsyncs it, renames it over `path` and fsyncs the directory.
 * After a crash at any point the file holds the old text or the new one, whole; once the promise
 * resolves the new text survives a power loss. The directory must exist. On failure the temporary
 * file is removed; a crash can leave one behind ({@link isTemporaryFileOf} recognises them).
 *
 * For state that must never be seen half-written: checkpoint files, and sinks that keep their
 * position in a file beside their output. Two writers must not replace one file concurrently.
 *
 * `options.renameAfter`: the rename waits for it, and does not happen if it rejects (the promise
 * then rejects with its reason). A sink whose checkpoint names data it is still flushing passes the
 * flush here: the temporary file is written and fsynced meanwhile, and the new text becomes the
 * file only once the data is durable.
 */
export async function writeFileAtomically(
  path: string,
  text: string,
  options: { readonly renameAfter?: Promise<unknown> } = {},
): Promise<void> {
  // Awaited before the rename; until then (and if the temporary file fails first) its rejection is not unhandled.
  options.renameAfter?.catch(() => undefined);
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await options.renameAfter;
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** Whether `name` (a file in the same directory) is a temporary file of {@link writeFileAtomically} for `path`. */
export function isTemporaryFileOf(path: string, name: string): boolean {
  const prefix = `.${basename(path)}.`;
  return name.startsWith(prefix) && /^[0-9a-f]{16}\.tmp$/.test(name.slice(prefix.length));
}

/**
 * Removes the temporary files {@link writeFileAtomically} left for `path` when a process died
 * between writing one and renaming it (a SIGKILL, a power loss): only names of its own pattern
 * (`.<name>.<16 hex digits>.tmp` in the same directory), nothing else. Call it before the first
 * write of a process, never while another writer may be replacing the same file. Returns the names
 * removed; a directory that does not exist has none.
 */
export async function removeTemporaryFilesOf(path: string): Promise<string[]> {
  const dir = dirname(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return [];
    throw error;
  }
  const stray = names.filter((name) => isTemporaryFileOf(path, name));
  await Promise.all(
    stray.map((name) =>
      unlink(join(dir, name)).catch((error: unknown) => {
        if (errorCode(error) !== 'ENOENT') throw error;
      }),
    ),
  );
  return stray;
}

/** Makes a rename in `dir` durable. Windows cannot open a directory, and some file systems refuse to fsync one: both are skipped. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
