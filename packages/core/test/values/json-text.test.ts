import { describe, expect, it } from 'vitest';
import { JsonText } from '../../src/values/json-text.js';
import { valueFromJson, valueToJson } from '../../src/values/value-json.js';

const EXACT =
  '{"id": 12345678901234567890, "price": 1.10, "tiny": 1e-400, "huge": 1e400, "d": 0.1234567890123456789012345678901234}';

describe('JsonText', () => {
  it('keeps the text as given; JSON.stringify writes it as a string', () => {
    const doc = new JsonText(EXACT);
    expect(doc.text).toBe(EXACT);
    expect(String(doc)).toBe(EXACT);
    expect(JSON.stringify({ doc, none: new JsonText('null'), sqlNull: null })).toBe(
      `{"doc":${JSON.stringify(EXACT)},"none":"null","sqlNull":null}`,
    );
  });

  it('makes a document from a JavaScript value, and parses one with JSON.parse', () => {
    expect(JsonText.stringify({ a: [1, 'x'] }).text).toBe('{"a":[1,"x"]}');
    expect(new JsonText('[1, {"b": null}]').parse()).toEqual([1, { b: null }]);
    expect(() => JsonText.stringify(undefined)).toThrow(TypeError);
  });
});

describe('valueToJson / valueFromJson with JSON documents', () => {
  it('round-trips the exact text, a null document distinct from null, also inside arrays', () => {
    for (const value of [new JsonText(EXACT), new JsonText('null'), [new JsonText('1.10'), null]]) {
      const back = valueFromJson(JSON.parse(JSON.stringify(valueToJson(value))));
      expect(back).toStrictEqual(value);
    }
    expect(valueToJson(new JsonText('null'))).toEqual({ $json: 'null' });
    expect(valueFromJson({ $json: 'null' })).toBeInstanceOf(JsonText);
  });
});
