import type { JsonValue } from '@highwater/core';
import type { ColumnDecoder } from './decode.js';
import type { MysqlColumn } from './mysql-column.js';

/** Spatial column types: decoded by {@link geometryDecoder}, not by `decode.ts`. */
export const GEOMETRY_TYPES: ReadonlySet<string> = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);

/**
 * MySQL's stored geometry (4-byte SRID, then WKB) in the form zongji gives on the binlog path, where
 * the bytes are not available: a point is `{x, y}`, a line string an array of points, a polygon an
 * array of rings, a multi-geometry or collection an array of its members. The snapshot path parses
 * the same bytes the same way, so both paths agree; the SRID and the geometry kind are not kept.
 */
export function geometryFromBytes(bytes: Buffer): JsonValue {
  let offset = 4; // SRID
  const read = (): JsonValue => {
    const little = bytes.readUInt8(offset) === 1;
    offset += 1;
    const u32 = () => {
      const v = little ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset);
      offset += 4;
      return v;
    };
    const f64 = () => {
      const v = little ? bytes.readDoubleLE(offset) : bytes.readDoubleBE(offset);
      offset += 8;
      return v;
    };
    const point = () => ({ x: f64(), y: f64() });
    const points = () => Array.from({ length: u32() }, point);
    switch (u32()) {
      case 1:
        return point();
      case 2:
        return points();
      case 3:
        return Array.from({ length: u32() }, points);
      case 4:
      case 5:
      case 6:
      case 7:
        return Array.from({ length: u32() }, read);
      default:
        return null;
    }
  };
  return bytes.length === 0 ? null : read();
}

/** The decoder pair of a spatial column. */
export function geometryDecoder(c: MysqlColumn): ColumnDecoder {
  return {
    column: c,
    binary: true,
    select: (q) => q,
    fromQuery: (raw) =>
      raw === null ? null : geometryFromBytes(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw), 'binary')),
    // zongji has already parsed it into the same form.
    fromBinlog: (raw) => (raw === null || raw === undefined ? null : (JSON.parse(JSON.stringify(raw)) as JsonValue)),
  };
}
