/** Headers the sink sets on event messages (the table is in the subject, the operation in the payload). */
export const HEADER = {
  /** The pipeline that published the message. */
  pipeline: 'Highwater-Pipeline',
  /** `<commit>.<index>`: the batch's commit number and the message's place in it; orders a pipeline's messages totally. */
  position: 'Highwater-Position',
  /** The event's source offset (JSON): its place in the source's log; a snapshot row's is its chunk's high watermark. */
  offset: 'Highwater-Offset',
  /** The row's primary key (JSON object), for consumers that partition by key; absent on schema changes and truncates. */
  key: 'Highwater-Key',
  /** On a commit marker: its commit number. */
  commit: 'Highwater-Commit',
} as const;
