/**
 * Why a connection could not be opened at the network level, from Node's socket error codes —
 * the same whatever the driver, so every adapter and sink words these failures alike:
 * - `refused`: nothing listens at host:port (`ECONNREFUSED`);
 * - `unknown-host`: the name does not resolve (`ENOTFOUND`, `EAI_AGAIN`);
 * - `no-answer`: no reply, or no route (`ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`).
 */
export interface NetworkFailure {
  readonly kind: 'refused' | 'unknown-host' | 'no-answer';
  /** The socket error code, e.g. `ETIMEDOUT`. */
  readonly code: string;
}

const KINDS: ReadonlyMap<string, NetworkFailure['kind']> = new Map([
  ['ECONNREFUSED', 'refused'],
  ['ENOTFOUND', 'unknown-host'],
  ['EAI_AGAIN', 'unknown-host'],
  ['ETIMEDOUT', 'no-answer'],
  ['EHOSTUNREACH', 'no-answer'],
  ['ENETUNREACH', 'no-answer'],
]);

/** The network-level reason an attempt to connect failed, or `null` when the error is not one. */
export function networkFailureOf(error: unknown): NetworkFailure | null {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return null;
  const kind = KINDS.get(code);
  return kind === undefined ? null : { kind, code };
}
