import { type Checkpoint, ClusterError, parseCheckpoint } from '@highwater/core';
import { type KV, Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { ClusterNatsOptions } from './coordinator.js';
import type { LeaseHolder } from './lease.js';
import type { MemberStatus } from './member-registry.js';
import { CHECKPOINT_KEY, clusterNames, LEASE_KEY } from './names.js';

/** What `highwater status` shows of a cluster pipeline: who leads, who reads what, the checkpoint. */
export interface ClusterStatus {
  readonly leader: LeaseHolder | null;
  /** Live members (entries not expired), by id. */
  readonly members: readonly MemberStatus[];
  readonly checkpoint: Checkpoint | null;
  /** When the checkpoint was saved. */
  readonly checkpointSavedAt: Date | null;
}

/**
 * Reads a cluster pipeline's state from NATS without creating anything: a pipeline no member has
 * started yet has no buckets, and reads as no leader, no members, no checkpoint.
 */
export async function readClusterStatus(options: ClusterNatsOptions, pipeline: string): Promise<ClusterStatus> {
  const servers = typeof options.url === 'string' ? [options.url] : [...options.url];
  let nc: Awaited<ReturnType<typeof connect>>;
  try {
    nc = await connect({
      servers,
      name: `highwater status ${pipeline}`,
      ...(options.user === undefined ? {} : { user: options.user, pass: options.password }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  } catch (cause) {
    throw new ClusterError(`cannot reach NATS at ${servers.join(', ')}: ${String(cause)} (check cluster.nats.url)`, {
      cause,
      retriable: true,
    });
  }
  try {
    const names = clusterNames(pipeline, options.prefix);
    const kvm = new Kvm(nc);
    const open = (bucket: string): Promise<KV | null> => kvm.open(bucket).catch(() => null);
    const [lease, members, state] = await Promise.all([
      open(names.leaseBucket),
      open(names.membersBucket),
      open(names.stateBucket),
    ]);
    const leaderEntry = await lease?.get(LEASE_KEY).catch(() => null);
    const list: MemberStatus[] = [];
    if (members !== null) {
      const keys: string[] = [];
      for await (const key of await members.keys('m.>')) keys.push(key);
      for (const key of keys) {
        const entry = await members.get(key);
        if (entry !== null && entry.operation === 'PUT') list.push(entry.json<MemberStatus>());
      }
    }
    const checkpointEntry = await state?.get(CHECKPOINT_KEY).catch(() => null);
    const hasCheckpoint = checkpointEntry != null && checkpointEntry.operation === 'PUT';
    return {
      leader: leaderEntry != null && leaderEntry.operation === 'PUT' ? leaderEntry.json<LeaseHolder>() : null,
      members: list.sort((a, b) => a.member.localeCompare(b.member)),
      checkpoint: hasCheckpoint
        ? parseCheckpoint(checkpointEntry.json(), `NATS bucket ${names.stateBucket} key ${CHECKPOINT_KEY}`)
        : null,
      checkpointSavedAt: hasCheckpoint ? checkpointEntry.created : null,
    };
  } finally {
    await nc.close();
  }
}
