import { ClusterError, ConfigError } from '@highwater/core';
import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { type ClusterNames, clusterNames } from './names.js';

/** How a member reaches NATS and how the cluster's timings are set (the `cluster.nats` section). */
export interface ClusterNatsOptions {
  /** One URL or several (`nats://host:4222`) of the same NATS cluster. */
  readonly url: string | readonly string[];
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** Subject prefix (default `highwater`). */
  readonly prefix?: string;
  /** How long a chunk may go without a heartbeat before it is handed to another member (default 30000). */
  readonly ackWaitMs?: number;
  /** How long the leader lease lasts unless renewed (renewed every third of it; default 15000). */
  readonly leaseTtlMs?: number;
  /** JetStream replicas of the cluster's streams and buckets (default 1; 3 on a three-node NATS cluster). */
  readonly replicas?: number;
}

/** Defaults of {@link ClusterNatsOptions}, filled in. */
export interface ClusterTimings {
  readonly ackWaitMs: number;
  readonly leaseTtlMs: number;
  readonly replicas: number;
}

export function clusterTimings(options: ClusterNatsOptions): ClusterTimings {
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const leaseTtlMs = options.leaseTtlMs ?? 15_000;
  if (ackWaitMs < 1_000) throw new ConfigError(`cluster.nats.ackWaitMs: ${ackWaitMs} is below 1000 ms`);
  if (leaseTtlMs < 1_000) throw new ConfigError(`cluster.nats.leaseTtlMs: ${leaseTtlMs} is below 1000 ms`);
  return { ackWaitMs, leaseTtlMs, replicas: options.replicas ?? 1 };
}

/** A connection to NATS with the pipeline's streams and buckets opened (created when missing). */
export interface Coordinator {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: ClusterNames;
  readonly state: KV;
  readonly lease: KV;
  readonly members: KV;
  readonly timings: ClusterTimings;
  close(): Promise<void>;
}

/**
 * Connects to NATS and opens (creating when missing) everything pipeline `pipeline` coordinates
 * through: the log stream, the chunk work queue and its consumer, and the state, lease and members
 * buckets.
 */
export async function openCoordinator(
  options: ClusterNatsOptions,
  pipeline: string,
  member: string,
): Promise<Coordinator> {
  const timings = clusterTimings(options);
  const servers = typeof options.url === 'string' ? [options.url] : [...options.url];
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: `highwater ${pipeline} ${member}`,
      ...(options.user === undefined ? {} : { user: options.user, pass: options.password }),
      ...(options.token === undefined ? {} : { token: options.token }),
      maxReconnectAttempts: -1,
    });
  } catch (cause) {
    throw new ClusterError(
      `cannot reach NATS at ${servers.join(', ')}: ${messageOf(cause)} (check cluster.nats.url; the server must run with JetStream, nats-server -js)`,
      { cause, retriable: true },
    );
  }
  try {
    const names = clusterNames(pipeline, options.prefix);
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const replicas = timings.replicas;
    await ensureStream(jsm, {
      name: names.logStream,
      subjects: [names.logSubject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      num_replicas: replicas,
    });
    await ensureStream(jsm, {
      name: names.chunkStream,
      subjects: [names.chunkSubjects],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: replicas,
    });
    await jsm.consumers.add(names.chunkStream, {
      durable_name: names.chunkConsumer,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(timings.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: -1,
    });
    const kvm = new Kvm(js);
    const state = await kvm.create(names.stateBucket, { history: 1, replicas });
    const lease = await kvm.create(names.leaseBucket, { history: 1, replicas, ttl: timings.leaseTtlMs });
    const members = await kvm.create(names.membersBucket, { history: 1, replicas, ttl: timings.leaseTtlMs });
    return {
      nc,
      js,
      jsm,
      names,
      state,
      lease,
      members,
      timings,
      close: async () => {
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (cause) {
    await nc.close().catch(() => undefined);
    throw new ClusterError(
      `NATS at ${servers.join(', ')} refused to set up the cluster's streams and buckets: ${messageOf(cause)} (JetStream must be enabled: nats-server -js)`,
      { cause, retriable: false },
    );
  }
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Parameters<JetStreamManager['streams']['add']>[0],
): Promise<void> {
  const existing = await jsm.streams.info(config.name).catch(() => null);
  if (existing === null) await jsm.streams.add(config);
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
