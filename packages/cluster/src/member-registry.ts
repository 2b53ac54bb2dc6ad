import type { Coordinator } from './coordinator.js';

/** What a member says about itself in the members bucket (shown by `highwater status`). */
export interface MemberStatus {
  readonly member: string;
  readonly host: string;
  readonly pid: number;
  readonly role: 'leader' | 'member';
  /** Chunk ids its readers are reading now. */
  readonly reading: readonly string[];
  /** As leader: chunks on the work queue or being read, not yet done. */
  readonly handedOut: number;
  /** Chunks this member wrote since it started. */
  readonly chunksWritten: number;
  readonly since: number;
  readonly at: number;
}

/** Writes this member's entry (it expires with the bucket's TTL when the member stops renewing it). */
export async function announce(coordinator: Coordinator, status: MemberStatus): Promise<void> {
  await coordinator.members.put(`m.${status.member}`, JSON.stringify(status));
}

export async function withdraw(coordinator: Coordinator, member: string): Promise<void> {
  await coordinator.members.delete(`m.${member}`).catch(() => undefined);
}

/** Every live member's entry. */
export async function listMembers(coordinator: Coordinator): Promise<MemberStatus[]> {
  const out: MemberStatus[] = [];
  const keys = await coordinator.members.keys('m.>');
  const names: string[] = [];
  for await (const key of keys) names.push(key);
  for (const key of names) {
    const entry = await coordinator.members.get(key);
    if (entry !== null && entry.operation === 'PUT') out.push(entry.json<MemberStatus>());
  }
  return out.sort((a, b) => a.member.localeCompare(b.member));
}
