/** An append-only Float32Array that doubles when full (streaming metrics keep every sample). */
export class GrowableFloat32 {
  private data = new Float32Array(1024);
  private size = 0;

  /** Number of values held. */
  get length(): number {
    return this.size;
  }

  /** Appends values (converted to float32). */
  push(values: ArrayLike<number>, start = 0, end = values.length): void {
    const n = end - start;
    this.reserve(this.size + n);
    const d = this.data;
    let at = this.size;
    for (let i = start; i < end; i++) d[at++] = values[i];
    this.size = at;
  }

  /** Appends `n` copies of `value`. */
  fill(value: number, n: number): void {
    this.reserve(this.size + n);
    this.data.fill(value, this.size, this.size + n);
    this.size += n;
  }

  /** The values held (a view; valid until the next push). */
  view(): Float32Array {
    return this.data.subarray(0, this.size);
  }

  /** Empties the array. */
  clear(): void {
    this.size = 0;
  }

  private reserve(n: number): void {
    if (n <= this.data.length) return;
    let cap = this.data.length;
    while (cap < n) cap *= 2;
    const next = new Float32Array(cap);
    next.set(this.data.subarray(0, this.size));
    this.data = next;
  }
}
