import { type EventLineEncoder, type SourceEvent, type TableId, toEventJson } from '@highwater/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { HEADER } from './headers.js';

/** One event as a message: its subject, its JSON line (without the newline) and its headers. */
export interface EventMessage {
  readonly subject: string;
  readonly payload: string;
  readonly headers: MsgHdrs;
  /** `Nats-Msg-Id`. */
  readonly msgID: string;
  readonly table: string;
}

/** What makes the messages of one batch. */
export interface MessageContext {
  readonly pipeline: string;
  /** Unique to one `open()` of the sink: a message id is never used again by a later run. */
  readonly runId: string;
  /** The batch's commit number. */
  readonly commit: number;
  readonly encoder: EventLineEncoder;
  /** The subject of a table (checked against the stream once per table). */
  subjectOf(table: string, id: TableId): string;
}

/**
 * The messages of a batch's events, in order. Heartbeats make none (they only move the checkpoint);
 * a schema change is a message in both formats (Debezium's schema-change shape in `debezium`).
 */
export function eventMessages(events: readonly SourceEvent[], context: MessageContext): EventMessage[] {
  const messages: EventMessage[] = [];
  for (const event of events) {
    if (event.kind === 'heartbeat') continue;
    const line = context.encoder.encode([event]);
    if (line === '') continue;
    const table = event.source.table;
    const index = messages.length;
    // append, not set: the headers are new, and set looks for an earlier value first (measurable per message).
    const h = natsHeaders();
    h.append(HEADER.pipeline, context.pipeline);
    h.append(HEADER.position, `${context.commit}.${index}`);
    h.append(HEADER.offset, JSON.stringify(event.source.offset));
    if (event.kind === 'change') h.append(HEADER.key, toEventJson(event.key));
    messages.push({
      subject: context.subjectOf(table, event.source.tableId),
      payload: line.slice(0, -1),
      headers: h,
      msgID: `${context.pipeline}.${context.runId}.${context.commit}.${index}`,
      table,
    });
  }
  return messages;
}
