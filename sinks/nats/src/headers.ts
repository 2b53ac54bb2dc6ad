/** Headers the sink sets on every event message. */
export const HEADER = {
  /** The pipeline that published the message. */
  pipeline: 'Highwater-Pipeline',
  /** `<commit>.<index>`: the batch's commit number and the message's place in it; orders a pipeline's messages totally. */
  position: 'Highwater-Position',
  /** The event's source offset (JSON): its place in the source's log; a snapshot row's is its chunk's high watermark. */
  offset: 'Highwater-Offset',
  /** The row's primary key (JSON object), for consumers that partition by key. */
  key: 'Highwater-Key',
  /** The qualified source table. */
  table: 'Highwater-Table',
  /** `r`, `c`, `u`, `d`, `schema` or `truncate`. */
  op: 'Highwater-Op',
  /** On a commit marker: its commit number. */
  commit: 'Highwater-Commit',
} as const;
