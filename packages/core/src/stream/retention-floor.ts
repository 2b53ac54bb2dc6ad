/**
 * The offset at or before which no chunk can need a retained change any more.
 *
 * Low watermarks never go backwards, so a chunk that asks for one now gets at least the latest one
 * already seen. A chunk that has asked but not yet been answered holds the floor where it was
 * when it asked; an open chunk holds it at its own low watermark.
 */
export class RetentionFloor<O> {
  private latest: O;
  private readonly pending = new Map<number, O>();
  private nextTicket = 0;

  constructor(
    initial: O,
    private readonly compare: (a: O, b: O) => number,
  ) {
    this.latest = initial;
  }

  /** Call before asking the database for a low watermark; pass the ticket to {@link settle}. */
  reserve(): number {
    const ticket = this.nextTicket++;
    this.pending.set(ticket, this.latest);
    return ticket;
  }

  /** Records the low watermark a reservation got (or none, when the call failed). */
  settle(ticket: number, lowWatermark: O | null): void {
    this.pending.delete(ticket);
    if (lowWatermark !== null && this.compare(lowWatermark, this.latest) > 0) this.latest = lowWatermark;
  }

  /** The floor, given the low watermarks of the chunks currently open. */
  current(openLowWatermarks: Iterable<O>): O {
    let floor = this.latest;
    for (const o of this.pending.values()) if (this.compare(o, floor) < 0) floor = o;
    for (const o of openLowWatermarks) if (this.compare(o, floor) < 0) floor = o;
    return floor;
  }

  get asking(): boolean {
    return this.pending.size > 0;
  }
}
