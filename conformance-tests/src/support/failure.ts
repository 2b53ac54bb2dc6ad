/** A broken conformance requirement. The message says what was expected, what happened, and where. */
export class ConformanceFailure extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConformanceFailure';
  }
}

/** Throws a {@link ConformanceFailure} unless `condition` holds. The message may be computed lazily. */
export function check(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new ConformanceFailure(typeof message === 'string' ? message : message());
}

export function fail(message: string, cause?: unknown): never {
  throw new ConformanceFailure(message, cause === undefined ? {} : { cause });
}

/** Lists up to `max` items, with a count of the rest. */
export function listSome(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).join('\n  ');
  return items.length > max ? `${shown}\n  … and ${items.length - max} more` : shown;
}
