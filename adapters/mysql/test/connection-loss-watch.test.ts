import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type mysqlCore from 'mysql2';
import { describe, expect, it } from 'vitest';
import { watchLoss } from '../src/connection-loss.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function fakeConnection(): EventEmitter {
  return new EventEmitter();
}

describe('connection loss watch', () => {
  it('keeps nothing of a settled call alive (a race against one long-lived promise kept every row batch)', async () => {
    const watch = watchLoss(fakeConnection() as unknown as mysqlCore.Connection);
    let ref: WeakRef<object> | undefined;
    await (async () => {
      const batch = { rows: new Array(1000).fill('row') };
      ref = new WeakRef(batch);
      await watch.race(async () => batch);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(ref?.deref()).toBeUndefined();
  });

  it('rejects a call under way when the connection ends, and refuses new ones without starting them', async () => {
    const connection = fakeConnection();
    const watch = watchLoss(connection as unknown as mysqlCore.Connection);
    const pending = watch.race(() => new Promise<never>(() => undefined));
    connection.emit('end');
    await expect(pending).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
    let started = false;
    await expect(
      watch.race(async () => {
        started = true;
      }),
    ).rejects.toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST' });
    expect(started).toBe(false);
    expect(watch.isLost()).toBe(true);
  });
});
