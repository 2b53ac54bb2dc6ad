import { AdapterError, ConnectionLostError, type HighwaterError } from './errors.js';

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

/**
 * The error an adapter reports when it cannot open a connection for a network-level reason, worded
 * alike for every adapter; `null` when `error` is not such a failure. Refused and unanswered
 * connections are retriable `ConnectionLostError`s; an unknown host is not retried.
 *
 * @example networkConnectError('postgres', { where: 'db:5432', host: 'db' }, error) ?? otherCauses(error)
 */
export function networkConnectError(
  connector: string,
  at: { readonly where: string; readonly host: string },
  error: unknown,
): HighwaterError | null {
  const network = networkFailureOf(error);
  const head = `${connector}: cannot connect to ${at.where}`;
  switch (network?.kind) {
    case 'refused':
      return new ConnectionLostError(
        `${head}: connection refused: check that the server is running and that host and port are right`,
        { cause: error },
      );
    case 'unknown-host':
      return new AdapterError(`${head}: unknown host ${at.host}: check the host name`, { cause: error });
    case 'no-answer':
      return new ConnectionLostError(
        `${head}: no answer (${network.code}): check the host, the port and any firewall in between`,
        { cause: error },
      );
    default:
      return null;
  }
}
