// Growable typed-array columns for importers and the page payload: JS arrays of a million numbers
// are slow and large. Each doubles when full; `a` holds the first `n` values.

/** A copy of `a` with twice its capacity. */
export function doubled<T extends Int32Array | Uint8Array | Float64Array>(a: T): T {
  const b = new (a.constructor as { new (n: number): T })(Math.max(16, a.length * 2))
  b.set(a)
  return b
}

/**
 * An open-addressed slot table of `size` (a power of two) for keys 0..n-1 with these hashes: slot
 * -> key, -1 empty, linear probing. What a hash table of typed-array columns rebuilds when it grows.
 */
export function slotsFor(hashes: Int32Array, n: number, size: number): Int32Array<ArrayBuffer> {
  const mask = size - 1
  const slots = new Int32Array(size).fill(-1)
  for (let k = 0; k < n; k++) {
    let slot = hashes[k]! & mask
    while (slots[slot]! >= 0) slot = (slot + 1) & mask
    slots[slot] = k
  }
  return slots
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
