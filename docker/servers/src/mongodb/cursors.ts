/**
 * Open cursors of the MongoDB simulator, by Int64 id (https://www.mongodb.com/docs/manual/reference/command/getMore/).
 * A query cursor holds the rest of its result; a change-stream cursor holds a position in the oplog.
 */
import type { Document } from 'bson';
import { Long } from 'bson';
import type { ChangeStream } from './change-stream.js';

export type Cursor =
  | { readonly kind: 'query'; readonly ns: string; readonly docs: Document[]; position: number }
  | { readonly kind: 'changeStream'; readonly ns: string; readonly stream: ChangeStream };

export class CursorRegistry {
  private readonly open = new Map<bigint, Cursor>();
  private next = 1000n;

  add(cursor: Cursor): Long {
    // Ids above 2^32 so a client that truncated them to Int32 would be caught.
    this.next += 1n;
    const id = (1n << 33n) + this.next;
    this.open.set(id, cursor);
    return Long.fromBigInt(id);
  }

  get(id: bigint): Cursor | undefined {
    return this.open.get(id);
  }

  delete(id: bigint): boolean {
    return this.open.delete(id);
  }

  clear(): void {
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
