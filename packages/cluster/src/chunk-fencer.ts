import { type Checkpoint, FencedWriteError, type JsonValue, type Sink } from '@highwater/core';

/** Fencing scope of a chunk's writes; the token is the revision of the attempt's claim in KV. */
export function chunkFenceScope(splitId: string): string {
  return `chunk:${splitId}`;
}

/**
 * The checkpoint a chunk write carries: a SQL sink stores it in its checkpoint table under the
 * members' own row, never under the pipeline's (the leader's checkpoint lives in NATS).
 */
export function chunkCheckpoint(connector: string, position: Checkpoint['position']): Checkpoint {
  return { version: 1, connector, position, complete: false, tables: {} };
}

/**
 * The leader's way to shut out a chunk's attempts: it writes a batch with no rows whose fencing token
 * (scope `chunk:<split id>`) is the revision it reset the chunk's record at. Once that batch is
 * committed, the sink refuses every write of an attempt that claimed the chunk before the reset,
 * even one that stalled past its checks; what such an attempt wrote before is in the target ahead
 * of it. Uses a chunk sink (the members' fence rows), opened on first use.
 */
export class ChunkFencer {
  private sink: Sink | null = null;

  constructor(
    private readonly createSink: () => Promise<Sink>,
    private readonly connector: string,
  ) {}

  /**
   * Opens the sink when the leadership starts, with a first write of nothing: a SQL sink's first
   * write makes the target's captured tables match the source's definitions as they are then. Done
   * at a barrier, that would add a column the leader has not applied yet (a renamed one under its new
   * name, beside the old one the leader's rename then cannot replace).
   */
  async open(): Promise<void> {
    if (this.sink !== null) return;
    const sink = await this.createSink();
    await sink.open();
    try {
      await sink.write({ events: [], checkpoint: chunkCheckpoint(this.connector, null) });
    } catch (error) {
      await sink.close().catch(() => undefined);
      throw error;
    }
    this.sink = sink;
  }

  async fence(splitId: string, token: number, position: JsonValue): Promise<void> {
    if (this.sink === null) await this.open();
    const sink = this.sink as Sink;
    try {
      await sink.write({
        events: [],
        checkpoint: chunkCheckpoint(this.connector, position),
        fence: { scope: chunkFenceScope(splitId), token },
      });
    } catch (error) {
      // A newer attempt, claimed after the reset, has written already: its token shuts out the same ones.
      if (error instanceof FencedWriteError) return;
      this.sink = null;
      await sink.close().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    const sink = this.sink;
    this.sink = null;
    await sink?.close();
  }
}
