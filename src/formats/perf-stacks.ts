// The unique stacks of a fold, kept as sequences of frame-text ids until the very end: collected
// per thread (FoldSink), handed between threads as a few typed arrays (PackedStacks), merged, then
// sorted and written as perl's output bytes without ever building one string per stack. (Strings
// per stack were a third of a 263 MB fold's wall time: ~1 KB keys built, sorted and copied twice.)
import { doubled, slotsFor } from '../model/growable.js'
import { Interner } from '../model/interner.js'
import { addCount, formatCount, type Entry, type EntryStore, type Sink } from './perf-core.js'

/** Entry store of the fold: entry id -> id of its frames' text joined by ';'. */
export class CanonEntries implements EntryStore {
  canon = new Int32Array(1024)
  length = 0
  constructor(private readonly intern: (text: string) => number) {}

  push(e: Entry): number {
    if (this.length === this.canon.length) this.canon = doubled(this.canon)
    this.canon[this.length++] = this.intern(e.funcs.join(';'))
    return this.length
  }
}

/**
 * One folder's unique stacks: stack i is `seq[start[i] .. start[i] + len[i])`, text ids LEAF
 * first (as collected), under process name `pname[i]`, seen `count[i]` times (`big` holds the
 * counts beyond 2^53, by stack). Ids are unique per string within one PackedStacks.
 */
export interface PackedStacks {
  texts: string[]
  pnames: string[]
  n: number
  seq: Int32Array
  start: Int32Array
  len: Int32Array
  pname: Int32Array
  count: Float64Array
  big: [number, number | bigint][]
}

/** The typed arrays of a PackedStacks, for postMessage's transfer list (moved, not copied). */
export function transferables(p: PackedStacks): ArrayBuffer[] {
  return [p.seq, p.start, p.len, p.pname, p.count].map((a) => a.buffer as ArrayBuffer)
}

/**
 * Folds samples into unique stacks. Memory is O(unique stacks): each stack is stored once as a
 * sequence of "canonical text" ids (one per stack line with output), counts summed like perl's.
 */
export class FoldSink implements Sink {
  readonly wantsEvents = false
  private readonly texts = new Interner()
  /**
   * The parser's entries, kept only as the id of their output text: a fold needs nothing else of
   * a stack line, and one object per distinct line was most of a thread's heap.
   */
  readonly entries = new CanonEntries((t) => this.intern(t))
  private seq = new Int32Array(1 << 16)
  private seqUsed = 0
  private stStart = new Int32Array(1024)
  private stLen = new Int32Array(1024)
  private stPname = new Int32Array(1024)
  private stHash = new Int32Array(1024)
  private stCount = new Float64Array(1024)
  private n = 0
  private slots = new Int32Array(4096).fill(-1)
  private mask = 4095
  private big: Map<number, number | bigint> | undefined
  private tmp = new Int32Array(1024)

  /** The id of a frame text (new texts get the next id). */
  intern(text: string): number {
    return this.texts.id(text)
  }

  sample(pname: number, entries: Int32Array, len: number, period: number | bigint): void {
    if (this.tmp.length < len) this.tmp = new Int32Array(len * 2)
    const t = this.tmp
    const canon = this.entries.canon
    for (let i = 0; i < len; i++) t[i] = canon[entries[i]!]!
    this.add(pname, t, len, period)
  }

  /** Count `period` for the stack of text ids `t[0..len)` (leaf first) under `pname`. */
  add(pname: number, t: Int32Array, len: number, period: number | bigint): void {
    let h = Math.imul(pname + 1, 0x9e3779b1) ^ len
    for (let i = 0; i < len; i++) h = (Math.imul(h ^ t[i]!, 0x01000193) + 0x7ed55d16) | 0
    h ^= h >>> 15
    let slot = h & this.mask
    for (;;) {
      const s = this.slots[slot]!
      if (s < 0) break
      if (this.stHash[s] === h && this.stLen[s] === len && this.stPname[s] === pname) {
        const st = this.stStart[s]!
        const q = this.seq
        let j = 0
        while (j < len && q[st + j] === t[j]) j++
        if (j === len) {
          this.addCount(s, period)
          return
        }
      }
      slot = (slot + 1) & this.mask
    }
    // New stack.
    if (this.seqUsed + len > this.seq.length) {
      const nq = new Int32Array(Math.max(this.seq.length * 2, this.seqUsed + len))
      nq.set(this.seq.subarray(0, this.seqUsed))
      this.seq = nq
    }
    this.seq.set(t.subarray(0, len), this.seqUsed)
    if (this.n === this.stStart.length) {
      this.stStart = doubled(this.stStart)
      this.stLen = doubled(this.stLen)
      this.stPname = doubled(this.stPname)
      this.stHash = doubled(this.stHash)
      this.stCount = doubled(this.stCount)
    }
    const s = this.n++
    this.stStart[s] = this.seqUsed
    this.stLen[s] = len
    this.stPname[s] = pname
    this.stHash[s] = h
    this.stCount[s] = 0
    this.seqUsed += len
    this.slots[slot] = s
    this.addCount(s, period)
    if (this.n * 2 > this.mask) {
      this.slots = slotsFor(this.stHash, this.n, (this.mask + 1) * 2)
      this.mask = this.slots.length - 1
    }
  }

  private addCount(s: number, period: number | bigint): void {
    if (this.big !== undefined) {
      const b = this.big.get(s)
      if (b !== undefined) {
        this.big.set(s, addCount(b, period))
        return
      }
    }
    if (typeof period === 'number') {
      const v = this.stCount[s]! + period
      if (v <= Number.MAX_SAFE_INTEGER) {
        this.stCount[s] = v
        return
      }
    }
    this.big ??= new Map()
    this.big.set(s, addCount(this.stCount[s]!, period))
  }

  /** The stacks as they are (views of this sink's arrays: pack once, at the end). */
  pack(pnames: readonly string[]): PackedStacks {
    return {
      texts: this.texts.list,
      pnames: [...pnames],
      n: this.n,
      seq: this.seq.subarray(0, this.seqUsed),
      start: this.stStart.subarray(0, this.n),
      len: this.stLen.subarray(0, this.n),
      pname: this.stPname.subarray(0, this.n),
      count: this.stCount.subarray(0, this.n),
      big: this.big ? [...this.big] : [],
    }
  }

  get uniqueStacks(): number {
    return this.n
  }
}

/** Several folders' stacks as one: texts and process names matched by string, counts added. */
export function mergePacked(parts: readonly PackedStacks[]): PackedStacks {
  if (parts.length === 1) return parts[0]!
  const into = new FoldSink()
  const pnames = new Interner()
  let t = new Int32Array(1024)
  for (const p of parts) {
    const textMap = new Int32Array(p.texts.length)
    for (let i = 0; i < p.texts.length; i++) textMap[i] = into.intern(p.texts[i]!)
    const pnameMap = p.pnames.map((name) => pnames.id(name))
    const big = new Map(p.big)
    for (let s = 0; s < p.n; s++) {
      const st = p.start[s]!
      const len = p.len[s]!
      if (t.length < len) t = new Int32Array(len * 2)
      for (let i = 0; i < len; i++) t[i] = textMap[p.seq[st + i]!]!
      into.add(pnameMap[p.pname[s]!]!, t, len, big.get(s) ?? p.count[s]!)
    }
  }
  return into.pack(pnames.list)
}

const SEMI = 59

/**
 * Order of two folded keys at their first differing part, `a` and `b` (different strings), each
 * followed by ';' when its key goes on (`aMore`) or else ending there. 0: undecided (the char after
 * the shorter one is a ';' inside the longer one; the caller compares whole keys).
 */
function partOrder(a: string, b: string, aMore: boolean, bMore: boolean): number {
  if (a.length < b.length) {
    if (!b.startsWith(a)) return a < b ? -1 : 1
    const ca = aMore ? SEMI : -1
    const cb = b.charCodeAt(a.length)
    return ca < cb ? -1 : ca > cb ? 1 : 0
  }
  if (!a.startsWith(b)) return a < b ? -1 : 1
  const ca = a.charCodeAt(b.length)
  const cb = bMore ? SEMI : -1
  return ca < cb ? -1 : ca > cb ? 1 : 0
}

/** The folded key of stack s (latin1: one char per output byte). */
function keyOf(p: PackedStacks, s: number): string {
  const parts = [p.pnames[p.pname[s]!]!]
  for (let i = p.start[s]! + p.len[s]! - 1; i >= p.start[s]!; i--) parts.push(p.texts[p.seq[i]!]!)
  return parts.join(';')
}

/**
 * Compare stacks x and y as perl's `sort keys` compares their folded keys (bytes), walking the id
 * sequences: equal ids are equal parts, so only the first differing part's strings are looked at.
 * 0 only for equal keys (different sequences can print the same when a text holds a ';').
 */
export function compareStacks(p: PackedStacks, x: number, y: number): number {
  const { seq, start, len } = p
  const lx = len[x]!
  const ly = len[y]!
  let r: number
  const px = p.pname[x]!
  const py = p.pname[y]!
  if (px !== py) r = partOrder(p.pnames[px]!, p.pnames[py]!, lx > 0, ly > 0)
  else {
    const ex = start[x]!
    const ey = start[y]!
    let i = ex + lx - 1
    let j = ey + ly - 1
    while (i >= ex && j >= ey && seq[i] === seq[j]) {
      i--
      j--
    }
    if (i < ex || j < ey) return i < ex ? (j < ey ? 0 : -1) : 1
    r = partOrder(p.texts[seq[i]!]!, p.texts[seq[j]!]!, i > ex, j > ey)
  }
  if (r !== 0) return r
  const kx = keyOf(p, x)
  const ky = keyOf(p, y)
  return kx < ky ? -1 : kx > ky ? 1 : 0
}

/**
 * perl's output: one line per distinct key, sorted by bytes, "key count\n" (keys that print the
 * same are one line with their counts added). `lines`: lines written.
 */
export function renderPacked(p: PackedStacks): { output: Buffer; lines: number } {
  const n = p.n
  const order = new Int32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  order.sort((x, y) => compareStacks(p, x, y))
  // Texts and names as bytes once, with offsets: a line is then copied byte by byte from them.
  const { bytes: tb, off: to } = encodeAll(p.texts)
  const { bytes: pb, off: po } = encodeAll(p.pnames)
  const big = p.big.length > 0 ? new Map(p.big) : undefined
  const countOf = (s: number): number | bigint => big?.get(s) ?? p.count[s]!
  // Group equal keys (neighbours after the sort), format the counts, size the output.
  const lead: number[] = []
  const counts: string[] = []
  let size = 0
  for (let k = 0; k < n; ) {
    const s = order[k]!
    let c = countOf(s)
    let m = k + 1
    while (m < n && compareStacks(p, s, order[m]!) === 0) c = addCount(c, countOf(order[m++]!))
    const cs = formatCount(c)
    lead.push(s)
    counts.push(cs)
    const name = p.pname[s]!
    size += po[name + 1]! - po[name]! + cs.length + 2
    for (let i = p.start[s]!, e = i + p.len[s]!; i < e; i++) size += 1 + to[p.seq[i]! + 1]! - to[p.seq[i]!]!
    k = m
  }
  const out = Buffer.allocUnsafe(size)
  let o = 0
  // Sorted neighbours share most of their parts: the shared head is copied from the line before
  // in one call (prevEnd[k]: where part k of the previous line ends), the rest byte by byte.
  let prevEnd = new Int32Array(64)
  let prev = -1
  let prevLine = 0
  for (let g = 0; g < lead.length; g++) {
    const s = lead[g]!
    const name = p.pname[s]!
    const st = p.start[s]!
    const len = p.len[s]!
    if (prevEnd.length < len + 1) {
      const grown = new Int32Array(Math.max(len + 1, prevEnd.length * 2))
      grown.set(prevEnd)
      prevEnd = grown
    }
    let shared = 0 // parts equal to the previous line's (the name is part 0)
    if (prev >= 0 && p.pname[prev] === name) {
      shared = 1
      const pst = p.start[prev]!
      let i = st + len - 1
      let j = pst + p.len[prev]! - 1
      while (i >= st && j >= pst && p.seq[i] === p.seq[j]) {
        i--
        j--
        shared++
      }
    }
    const lineStart = o
    if (shared > 0) {
      out.copyWithin(o, prevLine, prevEnd[shared - 1]!)
      o += prevEnd[shared - 1]! - prevLine
      for (let k = 0; k < shared; k++) prevEnd[k] = prevEnd[k]! - prevLine + lineStart
    } else {
      for (let j = po[name]!, e = po[name + 1]!; j < e; j++) out[o++] = pb[j]!
      prevEnd[0] = o
      shared = 1
    }
    for (let i = st + len - shared; i >= st; i--) {
      const t = p.seq[i]!
      out[o++] = SEMI
      for (let j = to[t]!, e = to[t + 1]!; j < e; j++) out[o++] = tb[j]!
      prevEnd[st + len - i] = o
    }
    out[o++] = 32
    o += out.write(counts[g]!, o, 'latin1')
    out[o++] = 10
    prev = s
    prevLine = lineStart
  }
  return { output: out, lines: lead.length }
}

function encodeAll(strs: readonly string[]): { bytes: Buffer; off: Int32Array } {
  const off = new Int32Array(strs.length + 1)
  for (let i = 0; i < strs.length; i++) off[i + 1] = off[i]! + strs[i]!.length
  const bytes = Buffer.allocUnsafe(off[strs.length]!)
  for (let i = 0; i < strs.length; i++) bytes.write(strs[i]!, off[i]!, 'latin1')
  return { bytes, off }
}
