/** Capacity a {@link LineBuffer} keeps between uses at most; beyond it `clear()` lets a larger buffer go. */
const KEEP_BYTES = 64 * 1024 * 1024;
const FIRST_BYTES = 64 * 1024;

/**
 * A growable UTF-8 byte buffer for writing a batch of lines, reused from batch to batch: text goes
 * straight into it with `utf8Write`, so a batch is encoded once, with no joined string to flatten
 * and then copy into a `Buffer`.
 *
 * {@link bytes} is a view of the buffer itself: it is valid until the next `clear()` or append, so
 * a writer must be done with it (the write's callback called) before reusing the buffer.
 */
export class LineBuffer {
  #buffer: Buffer = Buffer.allocUnsafe(0);
  #length = 0;

  /** Bytes written since the last `clear()`. */
  get length(): number {
    return this.#length;
  }

  /** Appends `text` as UTF-8. */
  appendString(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair, two units, takes 4).
    this.#reserve(text.length * 3);
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
  }

  appendBytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Appends a `\n`. */
  appendNewline(): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = 0x0a;
  }

  /** What was written since the last `clear()`: a view, valid until the buffer is written to again. */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  /** Starts over, keeping the memory unless it is larger than 64 MiB. */
  clear(): void {
    if (this.#buffer.length > KEEP_BYTES) this.#buffer = Buffer.allocUnsafe(0);
    this.#length = 0;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let size = Math.max(FIRST_BYTES, this.#buffer.length * 2);
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
