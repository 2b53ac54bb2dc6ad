import type mysqlCore from 'mysql2';
import type mysql from 'mysql2/promise';
import { toHighwaterError } from './errors.js';

/** Tells when a connection is gone, so a caller can stop waiting for a reply that will never come. */
export interface LossWatch {
  readonly isLost: () => boolean;
  /**
   * The result of `start()`, or a PROTOCOL_CONNECTION_LOST rejection once the connection ends or
   * fails first (`start` is not called on a connection already lost). Unlike `Promise.race` against
   * one long-lived promise, nothing stays attached once the call settles — such a race would keep
   * every result (every row batch) reachable until the connection ends.
   */
  readonly race: <T>(start: () => Promise<T>) => Promise<T>;
}

/** The callback-API connection under a promise one. */
export function coreOf(db: mysql.Connection): mysqlCore.Connection {
  return (db as unknown as { connection: mysqlCore.Connection }).connection;
}

/**
 * Watches a connection for its end. mysql2 can leave a query or a row stream that was under way
 * when the server went away (restart, KILL) unanswered forever; racing against this turns that into
 * a ConnectionLostError the core retries.
 */
export function watchLoss(core: mysqlCore.Connection): LossWatch {
  let lostError: Error | null = null;
  const waiting = new Set<(error: Error) => void>();
  const onGone = (cause?: unknown) => {
    if (lostError !== null) return;
    lostError = Object.assign(new Error('Connection lost: the server closed the connection', { cause }), {
      code: 'PROTOCOL_CONNECTION_LOST',
      fatal: true,
    });
    for (const reject of waiting) reject(lostError);
    waiting.clear();
  };
  core.on('end', () => onGone());
  core.on('error', (error: { fatal?: boolean }) => {
    if (error.fatal === true) onGone(error);
  });
  (core as unknown as { stream?: NodeJS.EventEmitter }).stream?.on('close', () => onGone());
  return {
    isLost: () => lostError !== null,
    race: <T>(start: () => Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        if (lostError !== null) {
          reject(lostError);
          return;
        }
        let started: Promise<T>;
        try {
          started = start();
        } catch (error) {
          reject(error);
          return;
        }
        waiting.add(reject);
        started.then(
          (value) => {
            waiting.delete(reject);
            resolve(value);
          },
          (error: unknown) => {
            waiting.delete(reject);
            reject(error);
          },
        );
      }),
  };
}

/** The batches of `source`, ending in a ConnectionLostError when the connection goes away mid-read. */
export async function* untilLost<T>(source: AsyncIterable<T>, watch: LossWatch, where: string): AsyncIterable<T> {
  const iterator = source[Symbol.asyncIterator]();
  let lost = false;
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await watch.race(() => iterator.next());
      } catch (error) {
        lost = watch.isLost();
        throw toHighwaterError(error, where);
      }
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // Stopped early on a live connection: let the reader finish its query. On a lost one it may never answer.
    if (!lost) await iterator.return?.();
  }
}
