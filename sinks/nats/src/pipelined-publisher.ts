import type { JetStreamClient, JetStreamPublishOptions, PubAck } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { natsFailure } from './nats-errors.js';

/**
 * Publishes to JetStream with up to `maxInFlight` publishes awaiting their acknowledgement, instead
 * of one round trip per message. Messages go out on one connection in call order, so the stream
 * stores them in that order. The first failure is kept, as a core error naming the message's table:
 * later publishes and {@link drain} throw it.
 */
export class PipelinedPublisher {
  #inFlight = 0;
  #failure: unknown = null;
  /** Woken when a publish completes: room for the next message, or the last one done. */
  #waiters: (() => void)[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly maxInFlight: number,
    private readonly ackTimeoutMs: number,
  ) {}

  /** Sends a message once fewer than `maxInFlight` are unacknowledged; resolves when it is sent, not acknowledged. */
  async publish(
    subject: string,
    payload: Uint8Array | string,
    headers: MsgHdrs,
    msgID: string,
    table?: string,
  ): Promise<void> {
    while (this.#inFlight >= this.maxInFlight && this.#failure === null) await this.#completion();
    this.#throwIfFailed();
    this.#inFlight++;
    const options: Partial<JetStreamPublishOptions> = { headers, msgID, timeout: this.ackTimeoutMs };
    let acked: Promise<PubAck>;
    try {
      acked = this.js.publish(subject, payload, options);
    } catch (error) {
      // Refused before sending (payload over the server's limit, closed connection).
      this.#inFlight--;
      this.#failure ??= natsFailure(error, `publish to ${subject}`, table);
      throw this.#failure;
    }
    acked.then(
      () => this.#done(null),
      (error: unknown) => this.#done(natsFailure(error, `publish to ${subject}`, table)),
    );
  }

  /** Resolves once every message sent is acknowledged; throws the first failure. */
  async drain(): Promise<void> {
    while (this.#inFlight > 0) await this.#completion();
    this.#throwIfFailed();
  }

  #done(error: unknown): void {
    this.#inFlight--;
    if (error !== null) this.#failure ??= error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #completion(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #throwIfFailed(): void {
    if (this.#failure !== null) throw this.#failure;
  }
}
