import type { z } from 'zod';
import { redact } from './redact.js';

/**
 * One pipeline-file problem in the words of the rest of Highwater's messages: what was given and
 * what is allowed, instead of Zod's own wording ("Invalid discriminator value", "Invalid input:
 * expected …"). The field path is put in front by the caller. Given values pass through `redact`, so
 * a substituted secret is never printed.
 */
export function describeIssue(issue: z.core.$ZodIssue, secrets: readonly string[]): string {
  const given = (value: unknown) => redact(show(value), secrets);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (check the spelling; see docs/pipelines.md)`;
    case 'invalid_union': {
      if ('discriminator' in issue && typeof issue.discriminator === 'string') {
        const options = (issue as { options?: readonly unknown[] }).options ?? [];
        const value = isRecord(input) ? input[issue.discriminator] : undefined;
        const allowed = options.map(String).join(', ');
        return value === undefined
          ? `missing; set it to one of ${allowed}`
          : `${given(value)} is not one of ${allowed}`;
      }
      return withGiven(issue.message, input, given);
    }
    case 'invalid_value': {
      const allowed = issue.values.map(String).join(', ');
      return issue.values.length === 1
        ? `${given(input)} given, only ${allowed} is allowed`
        : `${given(input)} is not one of ${allowed}`;
    }
    case 'invalid_type':
      if (input === undefined) return `missing; ${article(issue.expected)} is required`;
      return `expected ${article(issue.expected)}, got ${given(input)}`;
    case 'too_small':
      return `${bound('at least', 'more than', issue.minimum, issue.inclusive, issue.origin)}, got ${measured(input, issue.origin, given)}`;
    case 'too_big':
      return `${bound('at most', 'less than', issue.maximum, issue.inclusive, issue.origin)}, got ${measured(input, issue.origin, given)}`;
    case 'invalid_format':
      return withGiven(issue.message, input, given);
    default:
      return withGiven(issue.message, input, given);
  }
}

function withGiven(message: string, input: unknown, given: (value: unknown) => string): string {
  return input === undefined || isRecord(input) ? message : `${message}, got ${given(input)}`;
}

function bound(
  inclusiveWord: string,
  exclusiveWord: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  origin: string,
): string {
  const word = inclusive === false ? exclusiveWord : inclusiveWord;
  switch (origin) {
    case 'array':
    case 'set':
      return `needs ${word} ${limit} ${Number(limit) === 1 ? 'entry' : 'entries'}`;
    case 'string':
      return Number(limit) === 1 && word === 'at least' ? 'must not be empty' : `needs ${word} ${limit} characters`;
    default:
      return `must be ${word} ${limit}`;
  }
}

function measured(input: unknown, origin: string, given: (value: unknown) => string): string {
  if (Array.isArray(input)) return input.length === 0 ? 'an empty list' : `${input.length}`;
  if (origin === 'string' && typeof input === 'string') return input.length === 0 ? 'an empty string' : given(input);
  return given(input);
}

/** Zod's type names as a reader would say them. */
function article(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'a text value';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping (key: value lines)';
    case 'array':
      return 'a list';
    default:
      return expected;
  }
}

/** A given value for a message: scalars as written (text quoted), lists and mappings by their kind. */
function show(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  if (typeof value === 'string') {
    const quoted = JSON.stringify(value);
    return quoted.length > 80 ? `${quoted.slice(0, 77)}…"` : quoted;
  }
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
