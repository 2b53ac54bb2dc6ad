/**
 * The simulator's storage: databases of collections, each a map of documents sorted by `_id` (the `_id` index).
 * Documents are never mutated in place (writes store fresh copies), so the oplog and cursors may keep references.
 */
import { type Binary, type Document, UUID } from 'bson';
import { SortedMap } from './sorted-map.js';

export interface CollectionOptions {
  /** `changeStreamPreAndPostImages: { enabled }` (https://www.mongodb.com/docs/manual/reference/command/collMod/). */
  changeStreamPreAndPostImages: boolean;
  /**
   * Other options given to `create` or `collMod` (`validator`, `validationLevel`, `validationAction`, `collation`, …),
   * reported back by `listCollections` as given; the simulator does not enforce them.
   */
  readonly given: Document;
}

export class Collection {
  readonly docs = new SortedMap<Document>();
  readonly indexes: Document[] = [{ v: 2, key: { _id: 1 }, name: '_id_' }];

  constructor(
    public name: string,
    readonly uuid: Binary,
    readonly options: CollectionOptions,
  ) {}
}

export class Catalog {
  private readonly databases = new Map<string, Map<string, Collection>>();

  collection(db: string, coll: string): Collection | undefined {
    return this.databases.get(db)?.get(coll);
  }

  /** Creates the collection; the caller checks it does not exist yet. */
  create(db: string, coll: string, options: CollectionOptions): Collection {
    let collections = this.databases.get(db);
    if (collections === undefined) {
      collections = new Map();
      this.databases.set(db, collections);
    }
    const created = new Collection(coll, new UUID(), options);
    collections.set(coll, created);
    return created;
  }

  drop(db: string, coll: string): Collection | undefined {
    const collections = this.databases.get(db);
    const dropped = collections?.get(coll);
    collections?.delete(coll);
    if (collections?.size === 0) this.databases.delete(db);
    return dropped;
  }

  rename(db: string, coll: string, toDb: string, toColl: string): void {
    const moving = this.drop(db, coll);
    if (moving === undefined) return;
    moving.name = toColl;
    let target = this.databases.get(toDb);
    if (target === undefined) {
      target = new Map();
      this.databases.set(toDb, target);
    }
    target.set(toColl, moving);
  }

  dropDatabase(db: string): string[] {
    const names = [...(this.databases.get(db)?.keys() ?? [])];
    this.databases.delete(db);
    return names;
  }

  databaseNames(): string[] {
    return [...this.databases.keys()];
  }

  collections(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }
}
