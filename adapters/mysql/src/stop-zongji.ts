import type ZongJi from '@vlasky/zongji';

/**
 * Stops a zongji binlog reader and waits for its `stopped` event, at most 2 s: ending a connection
 * the server has already dropped (a restart, a KILL) can otherwise wait for ever.
 */
export async function stopZongji(zongji: ZongJi): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2000);
    zongji.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
    zongji.stop();
  });
}
