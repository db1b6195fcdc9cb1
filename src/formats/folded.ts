// Brendan Gregg's folded ("collapsed") stacks: `root;child;leaf 42` per line, as written by
// FlameGraph's stackcollapse-*.pl, inferno-collapse-*, Rust tracing-flame (weights in ns),
// async-profiler's collapsed output. A line with two counts (difffolded.pl / inferno-diff-folded)
// becomes two value columns, "before" and "after".
import type { Frame, FrameKind, Profile } from '../model/types.js'
import { StackTrie } from './stack-trie.js'
import { weightedStacks } from '../model/ops.js'
import { MalformedInputError } from '../util/errors.js'
import type { Importer } from './types.js'
import { utf16Bom } from './source.js'
import { sniffFolded, splitFoldedLine } from './detect.js'


/** inferno / FlameGraph annotation suffixes. */
export function kindOfFoldedFrame(name: string): FrameKind {
  if (name.endsWith('_[k]')) return 'kernel'
  if (name.endsWith('_[j]')) return 'js'
  if (/^\[?(unknown|[^\]]*\.so[^\]]*)\]?$/.test(name)) return 'native'
  if (name === '(idle)' || name === 'cpu_idle' || name === 'swapper' || name.startsWith('cpuidle_') || name === 'do_idle') return 'idle'
  if (name === '(garbage collector)' || /^(GC|v8::internal::Heap::|Scavenge|MarkCompact)/.test(name)) return 'gc'
  if (name === '(program)') return 'program'
  if (/\.(m?[jt]sx?|cjs):\d+/.test(name) || /^node:/.test(name)) return 'js'
  return 'unknown'
}

export const foldedImporter: Importer = {
  id: 'folded',
  title: 'folded stacks (FlameGraph / inferno / tracing-flame)',
  sniff: sniffFolded,
  async parse(input, options) {
    return [await parseFoldedStream(input.stream(), input.name, options.warn)]
  },
}

/**
 * Parse folded text from a stream of chunks. Aggregates equal stacks; memory is O(unique stacks).
 * Lines are parsed as bytes: a frame is hashed and looked up by its UTF-8 bytes and decoded to a
 * string only the first time it is seen; the frames a line shares with the previous line (sorted
 * folded files share long prefixes) are not looked at again. Stacks go into a StackTrie.
 */
export async function parseFoldedStream(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, name: string, warn?: (m: string) => void): Promise<Profile> {
  const parser = new FoldedParser(name, warn)
  // Pieces of a line not yet ended; the search for '\n' only looks at new bytes, so input without
  // newlines stays linear (and is refused at 64 MiB instead of buffered).
  let parts: Buffer[] = []
  let partsLen = 0
  let utf16: TextDecoder | undefined
  const feed = (chunk: Buffer): void => {
    let nl = chunk.indexOf(10)
    if (nl < 0) {
      parts.push(chunk)
      partsLen += chunk.length
      if (partsLen > 64 * 1024 * 1024) throw new MalformedInputError('folded', `${name}: a line longer than 64 MiB`)
      return
    }
    let pos = 0
    if (partsLen > 0) {
      // Only the line that straddles the chunks is copied.
      parts.push(chunk.subarray(0, nl))
      const b = Buffer.concat(parts, partsLen + nl)
      parts = []
      partsLen = 0
      parser.scanning(b)
      parser.line(b, 0, b.length)
      pos = nl + 1
      nl = chunk.indexOf(10, pos)
    }
    parser.scanning(chunk)
    while (nl >= 0) {
      parser.line(chunk, pos, nl)
      pos = nl + 1
      nl = chunk.indexOf(10, pos)
    }
    if (pos < chunk.length) {
      parts.push(chunk.subarray(pos))
      partsLen = chunk.length - pos
    }
  }
  // The encoding is decided on the first 3 bytes (a BOM), however the input is chunked.
  let start: Buffer | undefined = Buffer.alloc(0)
  const decide = (chunk: Buffer): Buffer => {
    // UTF-16 (with its BOM, as Windows tools write it) is transcoded to UTF-8; a UTF-8 BOM dropped.
    const enc = utf16Bom(chunk)
    if (enc) utf16 = new TextDecoder(enc)
    else if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) return chunk.subarray(3)
    return chunk
  }
  const take = (chunk: Buffer): void => feed(utf16 ? Buffer.from(utf16.decode(chunk, { stream: true }), 'utf8') : chunk)
  for await (const c of stream) {
    let chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : c
    if (start !== undefined) {
      start = Buffer.concat([start, chunk])
      if (start.length < 3) continue
      chunk = decide(start)
      start = undefined
    }
    take(chunk)
  }
  if (start !== undefined && start.length > 0) take(decide(start))
  if (utf16) feed(Buffer.from(utf16.decode(), 'utf8'))
  if (partsLen > 0) {
    const b = Buffer.concat(parts, partsLen)
    parser.scanning(b)
    parser.line(b, 0, b.length)
  }
  return parser.finish()
}

const isAsciiSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13)
/** A byte that can be part of a count: digits . - + e E */
const isCountByte = (c: number): boolean => (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 43 || c === 101 || c === 69

/** True when bytes [s, e) are a count: -?\d+(\.\d+)?([eE][+-]?\d+)? */
function isNumberBytes(b: Uint8Array, s: number, e: number): boolean {
  let i = s
  if (b[i] === 45) i++
  const digits = (): boolean => {
    const i0 = i
    while (i < e && b[i]! >= 48 && b[i]! <= 57) i++
    return i > i0
  }
  if (!digits()) return false
  if (i < e && b[i] === 46) {
    i++
    if (!digits()) return false
  }
  if (i < e && (b[i] === 101 || b[i] === 69)) {
    i++
    if (i < e && (b[i] === 43 || b[i] === 45)) i++
    if (!digits()) return false
  }
  return i === e
}

function numberOf(b: Buffer, s: number, e: number): number {
  if (e - s <= 15) {
    let v = 0
    let i = s
    for (; i < e; i++) {
      const c = b[i]!
      if (c < 48 || c > 57) break
      v = v * 10 + (c - 48)
    }
    if (i === e) return v
  }
  return Number(b.toString('latin1', s, e))
}

/** Frame id by the frame's bytes: open addressing over typed arrays, keys kept in one byte arena. */
class FrameByBytes {
  private slots = new Int32Array(1 << 14)
  private mask = (1 << 14) - 1
  private arena = new Uint8Array(1 << 16)
  private used = 0
  private keyStart = new Int32Array(1024)
  private keyLen = new Int32Array(1024)
  private keyHash = new Int32Array(1024)
  private keyFrame = new Int32Array(1024)
  private n = 0
  private slot = 0

  /** Frame id of bytes [s, e) with hash h, or -1 (then add() may follow for the same key). */
  find(b: Uint8Array, s: number, e: number, h: number): number {
    const mask = this.mask
    const len = e - s
    const arena = this.arena
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const k = this.slots[i]!
      if (k === 0) {
        this.slot = i
        return -1
      }
      const key = k - 1
      if (this.keyHash[key] !== h || this.keyLen[key] !== len) continue
      const o = this.keyStart[key]! - s
      let j = s
      while (j < e && arena[o + j] === b[j]) j++
      if (j === e) return this.keyFrame[key]!
    }
  }

  add(b: Uint8Array, s: number, e: number, h: number, frame: number): void {
    const len = e - s
    if (this.used + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.used + len))
      a.set(this.arena.subarray(0, this.used))
      this.arena = a
    }
    this.arena.set(b.subarray(s, e), this.used)
    if (this.n === this.keyStart.length) {
      const grow = (x: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const y = new Int32Array(x.length * 2)
        y.set(x)
        return y
      }
      this.keyStart = grow(this.keyStart)
      this.keyLen = grow(this.keyLen)
      this.keyHash = grow(this.keyHash)
      this.keyFrame = grow(this.keyFrame)
    }
    const key = this.n++
    this.keyStart[key] = this.used
    this.keyLen[key] = len
    this.keyHash[key] = h
    this.keyFrame[key] = frame
    this.used += len
    this.slots[this.slot] = key + 1
    if (this.n * 2 > this.slots.length) this.rehash()
  }

  private rehash(): void {
    const cap = this.slots.length * 2
    const slots = new Int32Array(cap)
    const mask = cap - 1
    for (let key = 0; key < this.n; key++) {
      let i = this.keyHash[key]! & mask
      while (slots[i] !== 0) i = (i + 1) & mask
      slots[i] = key + 1
    }
    this.slots = slots
    this.mask = mask
  }
}

/** The line machine of parseFoldedStream: one call per line, then finish(). */
class FoldedParser {
  private started = false
  private two = false
  private lineNo = 0
  private badLines = 0
  private readonly frames: Frame[] = []
  private readonly frameByName = new Map<string, number>()
  private readonly frameByBytes = new FrameByBytes()
  private readonly trie = new StackTrie(1 << 12)
  // One row per stack, in order of first appearance (the empty stack -1 included).
  private rowOfStack = new Int32Array(1 << 12).fill(-1)
  private rowOfEmpty = -1
  private sampleStack = new Int32Array(1024)
  private v1s = new Float64Array(1024)
  private v2s: Float64Array | undefined
  private rows = 0
  // The previous line's stack bytes and, per frame, where it ended (offset in the line) and the
  // stack id after it.
  private prevBuf: Buffer = Buffer.alloc(0)
  private prevView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
  private viewBuf: Buffer | undefined

  private viewOf(b: Buffer): DataView<ArrayBufferLike> {
    if (this.viewBuf !== b) {
      this.view = new DataView(b.buffer, b.byteOffset, b.byteLength)
      this.viewBuf = b
    }
    return this.view
  }
  private prevStart = 0
  private prevLen = 0
  private segEnd = new Int32Array(64)
  private segStack = new Int32Array(64)
  private nseg = 0
  // Frames of the current line not shared with the previous one: [start, end, hash] triples.
  private scratch = new Int32Array(3 * 256)

  constructor(private readonly name: string, private readonly warn?: (m: string) => void) {}

  private bad(): void {
    this.badLines++
    if (this.badLines <= 3) this.warn?.(`${this.name}:${this.lineNo}: not a folded line, skipped`)
  }

  private frameNamed(fname: string): number {
    let fid = this.frameByName.get(fname)
    if (fid === undefined) {
      fid = this.frames.length
      this.frames.push(Object.freeze({ name: fname, kind: kindOfFoldedFrame(fname) }))
      this.frameByName.set(fname, fid)
    }
    return fid
  }

  // Whether the chunk being read holds a \r or an E2 byte (U+2028/U+2029 start with it) at all.
  private chunkHasCR = true
  private chunkHasE2 = true

  /** Called with each chunk before its lines. */
  scanning(chunk: Buffer): void {
    this.chunkHasCR = chunk.includes(13)
    this.chunkHasE2 = chunk.includes(0xe2)
  }

  /** True when [ls, le) holds \r, U+2028 or U+2029: '.' in the line regex stops there. */
  private hasOddBreak(b: Buffer, ls: number, le: number): boolean {
    if (this.chunkHasCR) {
      const i = b.indexOf(13, ls)
      if (i >= 0 && i < le) return true
    }
    if (this.chunkHasE2) {
      for (let i = b.indexOf(0xe2, ls); i >= 0 && i < le; i = b.indexOf(0xe2, i + 1)) {
        if (b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9)) return true
      }
    }
    return false
  }

  /** Bytes [ls, le) of `b`, without the '\n'. */
  line(b: Buffer, ls: number, le: number): void {
    this.lineNo++
    if (le > ls && b[le - 1] === 13) le--
    if (le === ls || b[ls] === 35) return
    // The counts, scanning back from the end; anything non-ASCII there takes the string path,
    // which knows every character \s matches.
    let e = le
    while (e > ls && isAsciiSpace(b[e - 1]!)) e--
    // Scans stop at the first byte no count can hold, so they never walk back through the stack.
    let s = e
    while (s > ls && isCountByte(b[s - 1]!)) s--
    if (s > ls && !isAsciiSpace(b[s - 1]!)) return b[s - 1]! >= 0x80 || b[e - 1]! >= 0x80 ? this.slowLine(b, ls, le) : this.bad()
    if (s === ls || !isNumberBytes(b, s, e)) return this.bad()
    let w = s
    while (w > ls && isAsciiSpace(b[w - 1]!)) w--
    if (w === ls) return this.bad()
    if (b[w - 1]! >= 0x80) return this.slowLine(b, ls, le)
    let stackEnd = w
    let c1s = s
    let c1e = e
    let c2s = -1
    let s2 = w
    while (s2 > ls && isCountByte(b[s2 - 1]!)) s2--
    if (s2 > ls && s2 < w && isNumberBytes(b, s2, w)) {
      if (b[s2 - 1]! >= 0x80) return this.slowLine(b, ls, le)
      if (isAsciiSpace(b[s2 - 1]!)) {
        let w2 = s2
        while (w2 > ls && isAsciiSpace(b[w2 - 1]!)) w2--
        if (w2 > ls && b[w2 - 1]! >= 0x80) return this.slowLine(b, ls, le)
        if (w2 > ls) {
          stackEnd = w2
          c1s = s2
          c1e = w
          c2s = s
        }
      }
    }
    if (this.hasOddBreak(b, ls, stackEnd)) return this.slowLine(b, ls, le)
    const len = stackEnd - ls
    // Reuse the deepest frame of the previous line whose bytes this line starts with.
    const prev = this.prevBuf
    const ps = this.prevStart
    const lim = Math.min(len, this.prevLen)
    let c = 0
    // Four bytes at a time first: sorted files share hundreds of bytes from one line to the next.
    const dv = this.viewOf(b)
    const pdv = this.prevView
    while (c + 4 <= lim && dv.getUint32(ls + c, true) === pdv.getUint32(ps + c, true)) c += 4
    while (c < lim && b[ls + c] === prev[ps + c]) c++
    const segEnd = this.segEnd
    let j = -1
    while (j + 1 < this.nseg) {
      const se = segEnd[j + 1]!
      if (se > c || (se < len && b[ls + se] !== 59)) break
      j++
    }
    // The new frames: split on ';', hash each (FNV-1a), and refuse what the string path must see.
    let nNew = 0
    let scratch = this.scratch
    let start = ls + (j >= 0 ? segEnd[j]! + 1 : 0)
    let h = 0x811c9dc5 | 0
    for (let i = start; i <= stackEnd; i++) {
      const ch = i < stackEnd ? b[i]! : 59
      if (ch === 59) {
        if (i > start) {
          if (nNew * 3 + 3 > scratch.length) {
            const s2x = new Int32Array(scratch.length * 2)
            s2x.set(scratch)
            this.scratch = scratch = s2x
          }
          scratch[nNew * 3] = start
          scratch[nNew * 3 + 1] = i
          scratch[nNew * 3 + 2] = h ^ (h >>> 15)
          nNew++
        }
        start = i + 1
        h = 0x811c9dc5 | 0
      } else {
        h = Math.imul(h ^ ch, 0x01000193)
      }
    }
    if (!this.started) {
      this.started = true
      this.two = c2s >= 0
    }
    let st = j >= 0 ? this.segStack[j]! : -1
    this.nseg = j + 1
    let fresh = false
    for (let k = 0; k < nNew; k++) {
      const fs = scratch[k * 3]!
      const fe = scratch[k * 3 + 1]!
      const fh = scratch[k * 3 + 2]!
      let fid = this.frameByBytes.find(b, fs, fe, fh)
      if (fid < 0) {
        fid = this.frameNamed(b.toString('utf8', fs, fe))
        this.frameByBytes.add(b, fs, fe, fh, fid)
      }
      // Once a node had to be created, every deeper node on this line is new too.
      if (fresh) st = this.trie.append(st, fid)
      else {
        st = this.trie.child(st, fid)
        fresh = this.trie.created
      }
      this.pushSeg(fe - ls, st)
    }
    this.prevBuf = b
    this.prevView = dv
    this.prevStart = ls
    this.prevLen = len
    this.addRow(st, numberOf(b, c1s, c1e), this.two && c2s >= 0 ? numberOf(b, c2s, e) : 0)
  }

  private pushSeg(end: number, stack: number): void {
    if (this.nseg === this.segEnd.length) {
      const e2 = new Int32Array(this.nseg * 2)
      e2.set(this.segEnd)
      this.segEnd = e2
      const s2 = new Int32Array(this.nseg * 2)
      s2.set(this.segStack)
      this.segStack = s2
    }
    this.segEnd[this.nseg] = end
    this.segStack[this.nseg++] = stack
  }

  /** A line with non-ASCII space or line breaks near its fields: the string rules decide. */
  private slowLine(b: Buffer, ls: number, le: number): void {
    const m = splitFoldedLine(b.toString('utf8', ls, le))
    if (!m) return this.bad()
    if (!this.started) {
      this.started = true
      this.two = m[2] !== undefined
    }
    let st = -1
    for (const fname of m[0].split(';')) if (fname !== '') st = this.trie.child(st, this.frameNamed(fname))
    // The next line shares nothing with this one.
    this.nseg = 0
    this.prevLen = 0
    this.addRow(st, Number(m[1]), this.two && m[2] !== undefined ? Number(m[2]) : 0)
  }

  private addRow(s: number, v1: number, v2: number): void {
    let row: number
    if (s < 0) row = this.rowOfEmpty
    else {
      if (s >= this.rowOfStack.length) {
        let n = this.rowOfStack.length
        while (n <= s) n *= 2
        const r2 = new Int32Array(n).fill(-1)
        r2.set(this.rowOfStack)
        this.rowOfStack = r2
      }
      row = this.rowOfStack[s]!
    }
    if (row >= 0) {
      // The same rule as a new row: a negative, NaN or infinite count adds nothing.
      if (Number.isFinite(v1) && v1 > 0) this.v1s[row]! += v1
      if (this.two && Number.isFinite(v2) && v2 > 0) this.v2s![row]! += v2
      return
    }
    row = this.rows++
    if (s < 0) this.rowOfEmpty = row
    else this.rowOfStack[s] = row
    if (row === this.sampleStack.length) {
      const n = row * 2
      const ss = new Int32Array(n)
      ss.set(this.sampleStack)
      this.sampleStack = ss
      const a = new Float64Array(n)
      a.set(this.v1s)
      this.v1s = a
      if (this.v2s) {
        const b2 = new Float64Array(n)
        b2.set(this.v2s)
        this.v2s = b2
      }
    }
    if (this.two && !this.v2s) this.v2s = new Float64Array(this.v1s.length)
    this.sampleStack[row] = s
    this.v1s[row] = Number.isFinite(v1) && v1 > 0 ? v1 : 0
    if (this.two) this.v2s![row] = Number.isFinite(v2) && v2 > 0 ? v2 : 0
  }

  /**
   * Counts that are each finite can still add up to Infinity (two lines of 1e308): every share
   * would print as 0.0% under a total of "Infinity" (found by the fuzzer).
   */
  private refuseInfiniteTotals(): void {
    const n = this.rows
    for (const col of this.two ? [this.v1s, this.v2s!] : [this.v1s]) {
      let t = 0
      for (let i = 0; i < n; i++) t += col[i]!
      if (!Number.isFinite(t)) throw new MalformedInputError('folded', `${this.name}: the counts add up to more than a number can hold (${Number.MAX_VALUE.toExponential(1)})`)
    }
  }

  finish(): Profile {
    if (this.badLines > 3) this.warn?.(`${this.name}: ${this.badLines} lines were not folded stacks and were skipped`)
    if (!this.started && this.badLines > 0) throw new MalformedInputError('folded', `${this.name}: no valid folded stack line`)
    this.refuseInfiniteTotals()
    const { stackFrame, stackParent } = this.trie.arrays()
    const two = this.two
    const n = this.rows
    return {
      frames: this.frames,
      stackFrame,
      stackParent,
      sampleStack: this.sampleStack.slice(0, n),
      values: two ? [this.v1s.slice(0, n), (this.v2s ?? new Float64Array(n)).slice(0, n)] : [this.v1s.slice(0, n)],
      valueTypes: two ? [{ type: 'before', unit: 'count' }, { type: 'after', unit: 'count' }] : [{ type: 'samples', unit: 'count' }],
      defaultValue: two ? 1 : 0,
      meta: { name: this.name, sourceFormat: 'folded' },
    }
  }
}

/** A frame name made safe for one folded field: no ';' (stackcollapse turns it into ':'), no newline. */
export function foldedFrameName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n]+/g, ' ')
}

function formatWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : String(Number(w.toFixed(6)))
}

/**
 * Folded lines for a profile, sorted by stack text like stackcollapse-perf.pl (`sort keys`).
 * Frames are named by `name` only, so the output feeds flamegraph.pl / inferno directly.
 */
export function toFoldedLines(p: Profile, value = p.defaultValue): string[] {
  const agg = new Map<string, number>()
  const names = p.frames.map((f) => foldedFrameName(f.name))
  for (const { frames, weight } of weightedStacks(p, value)) {
    const key = frames.map((f) => names[f]).join(';')
    agg.set(key, (agg.get(key) ?? 0) + weight)
  }
  const keys = [...agg.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return keys.map((k) => `${k} ${formatWeight(agg.get(k)!)}`)
}

export function toFolded(p: Profile, value = p.defaultValue): string {
  const lines = toFoldedLines(p, value)
  return lines.length ? lines.join('\n') + '\n' : ''
}
