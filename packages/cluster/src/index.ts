export { type ClusterLogger, ClusterMember, type ClusterMemberOptions, type Leadership } from './cluster-member.js';
export { type ClusterNatsOptions, type Coordinator, clusterTimings, openCoordinator } from './coordinator.js';
export { leaseHolder, type LeaseHolder } from './lease.js';
export { listMembers, type MemberStatus } from './member-registry.js';
export { type ClusterNames, clusterNames } from './names.js';
export { KvCheckpointStore } from './kv-checkpoint-store.js';
export { type ClusterStatus, readClusterStatus } from './cluster-status.js';
export { type LeaderSourceOptions, leadSource } from './lead-source.js';
