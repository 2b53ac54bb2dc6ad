import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** One change to the store: a document's new image (`null`: deleted), or every document of a collection gone. */
export type StoreWrite =
  | { readonly kind: 'image'; readonly ns: string; readonly key: Buffer; readonly doc: Buffer | null }
  | { readonly kind: 'drop'; readonly ns: string };

/**
 * The last image of every captured document, on disk (SQLite through better-sqlite3, one file):
 * rows `(namespace, BSON of {_id}) → BSON of the document`, and the change stream position the
 * images are consistent with. Memory stays bounded whatever the collection size (SQLite's page
 * cache); writes come in transactions that move the images and the position together, so after a
 * crash the file holds the images as of its position, never a mix.
 */
export class ImageStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string, Buffer], { doc: Buffer }>;
  private readonly putStmt: Database.Statement<[string, Buffer, Buffer]>;
  private readonly deleteStmt: Database.Statement<[string, Buffer]>;
  private readonly dropStmt: Database.Statement<[string]>;
  private readonly setPosition: Database.Statement<[string]>;
  private readonly apply: (writes: readonly StoreWrite[], position: string) => void;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash (the
    // case that matters: a lost power cut loses at most the last acknowledged positions, which the
    // reader then re-derives from the change stream).
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS images (ns TEXT NOT NULL, id BLOB NOT NULL, doc BLOB NOT NULL, PRIMARY KEY (ns, id)) WITHOUT ROWID;' +
        'CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);',
    );
    this.getStmt = this.db.prepare('SELECT doc FROM images WHERE ns = ? AND id = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO images (ns, id, doc) VALUES (?, ?, ?)');
    this.deleteStmt = this.db.prepare('DELETE FROM images WHERE ns = ? AND id = ?');
    this.dropStmt = this.db.prepare('DELETE FROM images WHERE ns = ?');
    this.setPosition = this.db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('position', ?)");
    this.apply = this.db.transaction((writes: readonly StoreWrite[], position: string) => {
      for (const w of writes) {
        if (w.kind === 'drop') this.dropStmt.run(w.ns);
        else if (w.doc === null) this.deleteStmt.run(w.ns, w.key);
        else this.putStmt.run(w.ns, w.key, w.doc);
      }
      this.setPosition.run(position);
    });
  }

  /** The position (serialised offset) the stored images are consistent with; null for a new store. */
  position(): string | null {
    const row = this.db.prepare("SELECT value FROM meta WHERE name = 'position'").get() as
      | { value: string }
      | undefined;
    return row?.value ?? null;
  }

  /** The stored image (BSON), or undefined when the store has none. */
  get(ns: string, key: Buffer): Buffer | undefined {
    return this.getStmt.get(ns, key)?.doc;
  }

  /** Applies the writes in order and records the position, atomically. */
  write(writes: readonly StoreWrite[], position: string): void {
    this.apply(writes, position);
  }

  /** Removes every image (before seeding anew). */
  clear(): void {
    this.db.exec('DELETE FROM images');
  }

  /** Number of images and the file's size in bytes (for metrics and the benchmark). */
  stats(): { readonly images: number; readonly bytes: number } {
    const images = (this.db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return { images, bytes: pages * pageSize };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
