// Growable typed-array columns for importers and the page payload: JS arrays of a million numbers
// are slow and large. Each doubles when full; `a` holds the first `n` values.

/** A copy of `a` with twice its capacity. */
export function doubled<T extends Int32Array | Uint8Array | Float64Array>(a: T): T {
  const b = new (a.constructor as { new (n: number): T })(Math.max(16, a.length * 2))
  b.set(a)
  return b
}

export class F64List {
  a: Float64Array
  n = 0
  constructor(cap = 64) { this.a = new Float64Array(Math.max(16, cap)) }
  push(v: number): void {
    if (this.n === this.a.length) this.a = doubled(this.a)
    this.a[this.n++] = v
  }
  get(i: number): number { return this.a[i]! }
  /** The values pushed so far (a view, not a copy). */
  done(): Float64Array { return this.a.subarray(0, this.n) }
}

export class I32List {
  a: Int32Array
  n = 0
  constructor(cap = 64) { this.a = new Int32Array(Math.max(16, cap)) }
  push(v: number): void {
    if (this.n === this.a.length) this.a = doubled(this.a)
    this.a[this.n++] = v
  }
}
