import type { Row } from '../values/value.js';
import type { ChangeEvent, SourceInfo } from './source-event.js';

type Fields = { -readonly [K in keyof ChangeEvent]: ChangeEvent[K] };

/**
 * Made with `new` rather than as an object literal, for the reason given at `createRowBuilder`: V8
 * may allocate every later object of a literal whose objects tend to outlive a young-generation
 * collection (a released chunk's events do) in the old generation, where a dead event then keeps
 * its row alive until a full collection. The prototype is `Object.prototype`: events stay plain objects.
 */
function ChangeEventObject(
  this: Fields,
  op: ChangeEvent['op'],
  key: Row,
  before: Row | null,
  after: Row | null,
  beforeImage: ChangeEvent['beforeImage'],
  unknownColumns: readonly string[],
  source: SourceInfo,
): void {
  this.kind = 'change';
  this.op = op;
  this.key = key;
  this.before = before;
  this.after = after;
  this.beforeImage = beforeImage;
  this.unknownColumns = unknownColumns;
  this.source = source;
}
ChangeEventObject.prototype = Object.prototype;

/** Makes a change event (a plain object): `new PlainChangeEvent(op, key, before, after, beforeImage, unknownColumns, source)`. */
export const PlainChangeEvent = ChangeEventObject as unknown as new (
  ...fields: Parameters<typeof ChangeEventObject>
) => ChangeEvent;
