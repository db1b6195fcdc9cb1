// Per-row labels kept as columns: one column per label key, values in typed arrays. A pprof where
// every sample carries its own label set (timeline end timestamps, span ids) then costs a few
// bytes per sample and key instead of one object per sample. Rows are read back as objects on
// demand with at(row), which builds a fresh object each call.

export type LabelValue = string | number
export type LabelSet = Readonly<Record<string, LabelValue>>

/** A string wins over a number: a key given twice with a number is stored as text. */
function valueAt(strCols: readonly (Int32Array | undefined)[], numCols: readonly (Float64Array | undefined)[], strings: readonly string[], row: number, k: number): LabelValue | undefined {
  const s = strCols[k]?.[row] ?? -1
  if (s >= 0) return strings[s]!
  const n = numCols[k]?.[row]
  return n === undefined || Number.isNaN(n) ? undefined : n
}

/** Read side, stored on Profile.labels. */
export class LabelColumns {
  constructor(
    /** Rows (= sample rows of the profile). */
    readonly length: number,
    /** Label keys, one column each. */
    readonly keys: readonly string[],
    /** Per key: string id per row (into `strings`), -1 when the row has no string for the key. */
    private readonly strCols: readonly (Int32Array | undefined)[],
    /** Per key: number per row, NaN when the row has no number for the key. */
    private readonly numCols: readonly (Float64Array | undefined)[],
    private readonly strings: readonly string[],
  ) {}

  /** Value of key `k` in `row`. */
  value(row: number, k: number): LabelValue | undefined {
    return valueAt(this.strCols, this.numCols, this.strings, row, k)
  }

  /** The labels of one row as an object, or undefined when the row has none. */
  at(row: number): LabelSet | undefined {
    if (!(row >= 0 && row < this.length)) return undefined
    let o: Record<string, LabelValue> | undefined
    for (let k = 0; k < this.keys.length; k++) {
      const v = this.value(row, k)
      if (v !== undefined) (o ??= {})[this.keys[k]!] = v
    }
    return o
  }

  /** The labels of `rows` (row indexes, in the new order), as columns again. */
  select(rows: ArrayLike<number>): LabelColumns {
    const pick = <T extends Int32Array | Float64Array>(c: T | undefined): T | undefined => {
      if (!c) return undefined
      const out = new (c.constructor as new (n: number) => T)(rows.length)
      for (let i = 0; i < rows.length; i++) out[i] = c[rows[i]!]!
      return out
    }
    return new LabelColumns(rows.length, this.keys, this.strCols.map(pick), this.numCols.map(pick), this.strings)
  }

  /** Every row's labels; for tests and small profiles. */
  toArray(): (LabelSet | undefined)[] {
    return Array.from({ length: this.length }, (_, r) => this.at(r))
  }
}

/** Write side: rows are appended in order; set() fills the current (last) row. */
export class LabelColumnsBuilder {
  private rows = 0
  private cap = 1024
  private readonly keys: string[] = []
  private readonly keyIndex = new Map<string, number>()
  private readonly strCols: (Int32Array | undefined)[] = []
  private readonly numCols: (Float64Array | undefined)[] = []
  private readonly strings: string[] = []
  private readonly stringIndex = new Map<string, number>()

  get length(): number {
    return this.rows
  }

  /** Start a new row (with no labels yet); returns its index. */
  addRow(): number {
    if (this.rows === this.cap) this.grow(this.cap * 2)
    return this.rows++
  }

  /** Append `n` rows without labels. */
  addEmptyRows(n: number): void {
    if (this.rows + n > this.cap) this.grow(Math.max(this.cap * 2, this.rows + n))
    this.rows += n
  }

  keyId(key: string): number {
    let k = this.keyIndex.get(key)
    if (k === undefined) {
      k = this.keys.length
      this.keys.push(key)
      this.keyIndex.set(key, k)
      this.strCols.push(undefined)
      this.numCols.push(undefined)
    }
    return k
  }

  stringId(s: string): number {
    let id = this.stringIndex.get(s)
    if (id === undefined) {
      id = this.strings.length
      this.strings.push(s)
      this.stringIndex.set(s, id)
    }
    return id
  }

  /** Set key `k` of the last row to string id `sid`; a key given twice keeps both values, comma-separated. */
  setString(k: number, sid: number): void {
    const row = this.rows - 1
    const prev = this.existing(row, k)
    this.writeString(row, k, prev === undefined ? sid : this.stringId(`${prev},${this.strings[sid]}`))
  }

  setNumber(k: number, v: number): void {
    const row = this.rows - 1
    const prev = this.existing(row, k)
    // A list of values is kept as text, as for strings.
    if (prev !== undefined) return this.writeString(row, k, this.stringId(`${prev},${v}`))
    const col = (this.numCols[k] ??= new Float64Array(this.cap).fill(NaN))
    col[row] = v
  }

  private writeString(row: number, k: number, sid: number): void {
    const col = (this.strCols[k] ??= new Int32Array(this.cap).fill(-1))
    col[row] = sid
  }

  /** Set every label of the last row from an object. */
  setAll(labels: Readonly<Record<string, LabelValue>>): void {
    for (const key of Object.keys(labels)) {
      const v = labels[key]!
      const k = this.keyId(key)
      if (typeof v === 'number') this.setNumber(k, v)
      else this.setString(k, this.stringId(v))
    }
  }

  private existing(row: number, k: number): LabelValue | undefined {
    return valueAt(this.strCols, this.numCols, this.strings, row, k)
  }

  private grow(cap: number): void {
    for (let k = 0; k < this.keys.length; k++) {
      const s = this.strCols[k]
      if (s) {
        const a = new Int32Array(cap).fill(-1)
        a.set(s)
        this.strCols[k] = a
      }
      const n = this.numCols[k]
      if (n) {
        const a = new Float64Array(cap).fill(NaN)
        a.set(n)
        this.numCols[k] = a
      }
    }
    this.cap = cap
  }

  /** True when no row has any label. */
  get empty(): boolean {
    return this.keys.length === 0
  }

  build(): LabelColumns {
    const n = this.rows
    return new LabelColumns(n, this.keys.slice(), this.strCols.map((c) => c?.slice(0, n)), this.numCols.map((c) => c?.slice(0, n)), this.strings)
  }
}
