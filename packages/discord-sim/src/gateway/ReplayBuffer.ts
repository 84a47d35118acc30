/**
 * The last `capacity` serialised dispatches of a session, by sequence number, for RESUME.
 * A ring: pushing is O(1) however many events flow through.
 */
export class ReplayBuffer {
  readonly #payloads: (string | undefined)[];
  readonly #seqs: Float64Array;
  #start = 0;
  #size = 0;

  public constructor(capacity: number) {
    this.#payloads = new Array<string | undefined>(capacity);
    this.#seqs = new Float64Array(capacity);
  }

  public push(seq: number, payload: string): void {
    const capacity = this.#payloads.length;
    const index = (this.#start + this.#size) % capacity;
    this.#payloads[index] = payload;
    this.#seqs[index] = seq;
    if (this.#size < capacity) this.#size++;
    else this.#start = (this.#start + 1) % capacity;
  }

  /**
   * The payloads after `seq`, oldest first, or `null` when some of them are no longer kept.
   */
  public after(seq: number): string[] | null {
    const capacity = this.#payloads.length;
    const out: string[] = [];
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#size; i++) {
      const index = (this.#start + i) % capacity;
      const s = this.#seqs[index] ?? 0;
      if (i === 0) oldest = s;
      if (s > seq) out.push(this.#payloads[index] ?? '');
    }
    // Events between `seq` and the oldest kept one were dropped: they cannot be replayed.
    if (this.#size > 0 && oldest > seq + 1) return null;
    return out;
  }
}
