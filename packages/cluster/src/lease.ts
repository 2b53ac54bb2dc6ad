import type { Coordinator } from './coordinator.js';
import { LEASE_KEY } from './names.js';

/** Who holds the leader lease, as stored in the lease bucket. */
export interface LeaseHolder {
  readonly member: string;
  readonly since: number;
  /**
   * The revision at which this holder took the lease: it grows with every new leader. Chunks carry
   * the epoch of the leader that queued them; a member drops a chunk of an earlier epoch.
   */
  readonly epoch: number;
}

/**
 * The leader lease: one KV entry that only one member can create (compare-and-swap on its
 * revision), renewed by its holder every third of the bucket's TTL. An entry not renewed expires
 * with the bucket's max age, and another member's `create` then succeeds.
 */
export class LeaderLease {
  private revision = 0;
  private since = 0;
  /** See {@link LeaseHolder.epoch}; 0 while not held. */
  epoch = 0;
  private renewedAt = 0;

  constructor(
    private readonly coordinator: Coordinator,
    private readonly member: string,
  ) {}

  /** Takes the lease if nobody holds it. */
  async tryAcquire(): Promise<boolean> {
    this.since = Date.now();
    try {
      this.epoch = 0;
      this.revision = await this.coordinator.lease.create(LEASE_KEY, this.value());
    } catch {
      return false;
    }
    this.epoch = this.revision;
    this.renewedAt = Date.now();
    // Says the epoch at once, so members can tell this leader's chunks from an earlier one's.
    return this.renew();
  }

  /** Renews the lease; false when it was lost (expired and taken by another member). */
  async renew(): Promise<boolean> {
    try {
      this.revision = await this.coordinator.lease.update(LEASE_KEY, this.value(), this.revision);
      this.renewedAt = Date.now();
      return true;
    } catch {
      return false;
    }
  }

  /** True while the last renewal is younger than the TTL minus a safety margin (a fifth of it). */
  get fresh(): boolean {
    return Date.now() - this.renewedAt < (this.coordinator.timings.leaseTtlMs * 4) / 5;
  }

  /** Gives the lease up so another member can take it at once (a clean stop). */
  async release(): Promise<void> {
    await this.coordinator.lease.delete(LEASE_KEY, { previousSeq: this.revision }).catch(() => undefined);
  }

  private value(): string {
    const holder: LeaseHolder = { member: this.member, since: this.since, epoch: this.epoch };
    return JSON.stringify(holder);
  }
}

/** The current lease holder, or null. */
export async function leaseHolder(coordinator: Coordinator): Promise<LeaseHolder | null> {
  const entry = await coordinator.lease.get(LEASE_KEY);
  if (entry === null || entry.operation !== 'PUT') return null;
  return entry.json<LeaseHolder>();
}
