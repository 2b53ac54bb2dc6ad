import { formatBytes, type SlotReport } from '@highwater/postgres';
import type { SinkLogger } from '@highwater/core';

/** One slot as the metrics show it. */
export interface SlotGauge {
  readonly name: string;
  readonly retainedWalBytes: number | null;
  /** Seconds the slot has been idle, as far as known; 0 while in use. */
  readonly idleSeconds: number;
}

export interface SlotMonitorOptions {
  /** Reads Highwater's slots on the source server. */
  readonly read: () => Promise<readonly SlotReport[]>;
  /** A slot idle this long is reported (a `warn` log line, once per idle period). */
  readonly idleWarningMs: number;
  /** The pipeline file, for the command the warning suggests. */
  readonly pipelineFile: string;
  readonly logger: SinkLogger;
  /** Checks only while this says so (the pipeline's source is running: no second error about an unreachable server). */
  readonly when?: () => boolean;
  readonly now?: () => number;
}

/**
 * Watches Highwater's replication slots on a Postgres source while a pipeline runs: each one retains
 * WAL whether anything reads it or not, so one left by a pipeline that no longer runs fills the
 * server's disk. It keeps the WAL each retains (for the metrics) and warns once per idle period when
 * a slot has not been read for `idleWarningMs`. How long a slot has been idle comes from the server
 * where it records it (Postgres 17+ `inactive_since`), else from when this monitor first saw it idle.
 */
export class SlotMonitor {
  readonly #options: SlotMonitorOptions;
  readonly #now: () => number;
  #slots: readonly SlotReport[] = [];
  readonly #idleSince = new Map<string, number>();
  readonly #warned = new Set<string>();
  #readFailed = false;

  constructor(options: SlotMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The slots as last read, with how long each has been idle. */
  gauges(): SlotGauge[] {
    const now = this.#now();
    return this.#slots.map((s) => {
      const since = this.#idleSince.get(s.name);
      return {
        name: s.name,
        retainedWalBytes: s.retainedWalBytes,
        idleSeconds: since === undefined ? 0 : Math.max(0, (now - since) / 1000),
      };
    });
  }

  /** Reads the slots once, updates the figures and warns about idle ones. A failed read is a warning, once. */
  async check(): Promise<void> {
    if (this.#options.when?.() === false) return;
    let slots: readonly SlotReport[];
    try {
      slots = await this.#options.read();
    } catch (error) {
      if (!this.#readFailed) {
        this.#options.logger.warn(
          {},
          `could not read the source's replication slots (${error instanceof Error ? error.message : String(error)}); ` +
            'idle slots are not reported until it works again',
        );
      }
      this.#readFailed = true;
      return;
    }
    this.#readFailed = false;
    const now = this.#now();
    this.#slots = slots;
    for (const name of [...this.#idleSince.keys()]) {
      if (!slots.some((s) => s.name === name && !s.active)) {
        this.#idleSince.delete(name);
        this.#warned.delete(name);
      }
    }
    for (const slot of slots) {
      if (slot.active) continue;
      const since = slot.inactiveSince?.getTime() ?? this.#idleSince.get(slot.name) ?? now;
      this.#idleSince.set(slot.name, since);
      if (now - since < this.#options.idleWarningMs || this.#warned.has(slot.name)) continue;
      this.#warned.add(slot.name);
      const retained = slot.retainedWalBytes === null ? 'an unknown amount' : formatBytes(slot.retainedWalBytes);
      this.#options.logger.warn(
        { slot: slot.name, retainedWalBytes: slot.retainedWalBytes, idleSeconds: Math.round((now - since) / 1000) },
        `replication slot ${slot.name} has not been read for ${Math.round((now - since) / 1000)} s and makes the ` +
          `source keep ${retained} of WAL: if no pipeline uses it any more, drop it with ` +
          `\`highwater slots ${this.#options.pipelineFile} --drop ${slot.name}\``,
      );
    }
  }

  /** Checks now and then every `intervalMs` until the returned function is called. */
  start(intervalMs: number): () => void {
    let running: Promise<void> | null = this.check();
    const timer = setInterval(() => {
      if (running === null) running = this.check().finally(() => (running = null));
    }, intervalMs);
    void running.finally(() => (running = null));
    timer.unref();
    return () => clearInterval(timer);
  }
}
