// Fast path for the common .cpuprofile shape (`{"nodes":[...],"startTime":..,"endTime":..,
// "samples":[...],"timeDeltas":[...]}`, what `node --cpu-prof` and DevTools write): a byte-level
// scanner that reads straight into typed arrays instead of JSON.parse building an object per node
// and per call frame. A 50 MB / 320k-node profile then costs one pass over the bytes and a few MB.
//
// It is not a validating JSON parser: anything it does not expect (another top-level shape, a
// syntax error, an unusual escape) makes it give up with `undefined`, and the caller falls back to
// JSON.parse, which has the final word on validity and the error message.
import type { Frame } from '../model/types.js'
import { frameKey } from '../model/builder.js'
import { decodeUtf8 } from './protobuf.js'
import { F64List } from '../model/growable.js'

/** Call-tree nodes in columns. */
export interface NodeTable {
  n: number
  id: Float64Array
  /** Frame index per node; -1 for (root). */
  frame: Int32Array
  /** `parent` field (trace chunks), NaN when absent. */
  parent: Float64Array
  /** children of node i: childIds[childStart[i] .. childStart[i+1]) */
  childStart: Int32Array
  childIds: Float64Array
  frames: Frame[]
}

export interface ScannedProfile {
  nodes: NodeTable
  samples: Float64Array
  timeDeltas: Float64Array | undefined
  startTime: number | undefined
  endTime: number | undefined
}

class GiveUp extends Error {}
const giveUp = new GiveUp('not the plain cpuprofile shape')

/** Interns strings by their bytes, so a URL repeated 300k times is decoded once. */
class ByteStrings {
  private slots = new Int32Array(1 << 14)
  private mask = (1 << 14) - 1
  private start: number[] = []
  private len: number[] = []
  private hash: number[] = []
  readonly strings: string[] = []
  constructor(private readonly buf: Uint8Array) {}
  /** Id of the string with raw bytes [s, e) (no escapes), given its FNV-1a hash `h0`. */
  idHashed(s: number, e: number, h0: number): number {
    const b = this.buf
    let h = h0 ^ (e - s)
    h ^= h >>> 13
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const k = this.slots[i]! - 1
      if (k < 0) {
        const id = this.strings.length
        this.strings.push(decodeUtf8(b, s, e))
        this.start.push(s)
        this.len.push(e - s)
        this.hash.push(h)
        this.slots[i] = id + 1
        if (id * 2 > this.mask) this.rehash()
        return id
      }
      if (this.hash[k] !== h || this.len[k] !== e - s) continue
      const s0 = this.start[k]!
      let j = 0
      const L = e - s
      while (j < L && b[s0 + j] === b[s + j]) j++
      if (j === L) return k
    }
  }
  /** Id for an already-decoded string (one that had escapes). */
  idOf(str: string): number {
    const id = this.strings.length
    this.strings.push(str)
    this.start.push(-1)
    this.len.push(-1)
    this.hash.push(0)
    return id
  }
  private rehash(): void {
    const cap = (this.mask + 1) * 2
    const slots = new Int32Array(cap)
    const mask = cap - 1
    for (let k = 0; k < this.strings.length; k++) {
      if (this.start[k] === -1) continue
      let i = this.hash[k]! & mask
      while (slots[i] !== 0) i = (i + 1) & mask
      slots[i] = k + 1
    }
    this.slots = slots
    this.mask = mask
  }
}

/** Raw bytes of a callFrame object -> frame index: identical call frames are read once. */
class SpanCache {
  private slots = new Int32Array(1 << 14)
  private mask = (1 << 14) - 1
  private start: number[] = []
  private len: number[] = []
  private hash: number[] = []
  private value: number[] = []
  constructor(private readonly buf: Uint8Array) {}
  get(s: number, e: number, h: number): number {
    const b = this.buf
    const L = e - s
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const k = this.slots[i]! - 1
      if (k < 0) return -2
      if (this.hash[k] !== h || this.len[k] !== L) continue
      const s0 = this.start[k]!
      let j = 0
      while (j < L && b[s0 + j] === b[s + j]) j++
      if (j === L) return this.value[k]!
    }
  }
  set(s: number, e: number, h: number, v: number): void {
    const k = this.start.length
    this.start.push(s)
    this.len.push(e - s)
    this.hash.push(h)
    this.value.push(v)
    let i = h & this.mask
    while (this.slots[i] !== 0) i = (i + 1) & this.mask
    this.slots[i] = k + 1
    if (k * 2 > this.mask) {
      const cap = (this.mask + 1) * 2
      const slots = new Int32Array(cap)
      const mask = cap - 1
      for (let j = 0; j <= k; j++) {
        let x = this.hash[j]! & mask
        while (slots[x] !== 0) x = (x + 1) & mask
        slots[x] = j + 1
      }
      this.slots = slots
      this.mask = mask
    }
  }
}

const Q = 0x22 // "
const BS = 0x5c // \\

/** Key ids of the members we read; everything else is skipped. */
const enum K { Other, Id, CallFrame, Children, Parent, FunctionName, Url, LineNumber, ColumnNumber, Nodes, Samples, TimeDeltas, StartTime, EndTime, Wrapper }

/**
 * The scanner. A class with the cursor in a field (not a closure variable) and no per-node
 * closures keeps V8 on its fast paths; strings are hashed and checked for escapes in one pass.
 */
class Scanner {
  pos = 0
  readonly end: number
  readonly strings: ByteStrings
  constructor(readonly buf: Uint8Array) {
    this.end = buf.length
    this.strings = new ByteStrings(buf)
  }

  ws(): number {
    const buf = this.buf
    let p = this.pos
    let c = buf[p]!
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = buf[++p]!
    this.pos = p
    return c
  }

  expect(c: number): void {
    if (this.ws() !== c) throw giveUp
    this.pos++
  }

  /** After `{` or `,`: reads `"key":` and classifies it. Returns -1 at `}`. */
  key(): number {
    const buf = this.buf
    let c = this.ws()
    if (c === 0x7d) return -1
    if (c !== Q) throw giveUp
    const s = ++this.pos
    let p = s
    while ((c = buf[p]!) !== Q) {
      if (c === BS || p >= this.end) throw giveUp
      p++
    }
    this.pos = p + 1
    if (this.ws() !== 0x3a) throw giveUp
    this.pos++
    const len = p - s
    const c0 = buf[s]!
    switch (len) {
      case 2: return c0 === 0x69 && buf[s + 1] === 0x64 ? K.Id : K.Other // id
      case 3: return c0 === 0x75 && buf[s + 1] === 0x72 && buf[s + 2] === 0x6c ? K.Url : K.Other // url
      case 4: return c0 === 0x68 && this.is(s, 'head') ? K.Wrapper : K.Other
      case 5: return c0 === 0x6e && this.is(s, 'nodes') ? K.Nodes : K.Other
      case 6: return c0 === 0x70 && this.is(s, 'parent') ? K.Parent : K.Other
      case 7: return c0 === 0x73 && this.is(s, 'samples') ? K.Samples : c0 === 0x65 && this.is(s, 'endTime') ? K.EndTime : c0 === 0x70 && this.is(s, 'profile') ? K.Wrapper : K.Other
      case 8: return c0 === 0x63 && this.is(s, 'children') ? K.Children : K.Other
      case 9: return c0 === 0x63 && this.is(s, 'callFrame') ? K.CallFrame : c0 === 0x73 && this.is(s, 'startTime') ? K.StartTime : K.Other
      case 10: return c0 === 0x6c && this.is(s, 'lineNumber') ? K.LineNumber : c0 === 0x74 && this.is(s, 'timeDeltas') ? K.TimeDeltas : K.Other
      case 11: return c0 === 0x74 && this.is(s, 'traceEvents') ? K.Wrapper : K.Other
      case 12: return c0 === 0x66 && this.is(s, 'functionName') ? K.FunctionName : c0 === 0x63 && this.is(s, 'columnNumber') ? K.ColumnNumber : K.Other
      default: return K.Other
    }
  }

  private is(s: number, k: string): boolean {
    for (let i = 1; i < k.length; i++) if (this.buf[s + i] !== k.charCodeAt(i)) return false
    return true
  }

  /** After a member: `,` continues (true), `}` or `]` ends (false). */
  more(close: number): boolean {
    const c = this.ws()
    this.pos++
    if (c === 0x2c) return true
    if (c === close) return false
    throw giveUp
  }

  /** A string value; returns its id in `strings`. Hash, escape check and end search in one pass. */
  str(): number {
    if (this.ws() !== Q) throw giveUp
    const buf = this.buf
    const s = ++this.pos
    let p = s
    let h = 0x811c9dc5
    let c: number
    while ((c = buf[p]!) !== Q) {
      if (c === BS || !(c >= 0x20)) return this.strSlow(s) // escape, control byte, or the end
      h = Math.imul(h ^ c, 0x01000193)
      p++
    }
    if (p >= this.end) throw giveUp
    this.pos = p + 1
    return this.strings.idHashed(s, p, h)
  }

  private strSlow(s: number): number {
    const buf = this.buf
    let p = s
    while (p < this.end && buf[p] !== Q) {
      if (buf[p] === BS) p++
      else if (buf[p]! < 0x20) throw giveUp
      p++
    }
    if (p >= this.end) throw giveUp
    this.pos = p + 1
    let v: unknown
    try { v = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + s - 1, p - s + 2).toString('utf8')) } catch { throw giveUp }
    return this.strings.idOf(v as string)
  }

  num(): number {
    const buf = this.buf
    let c = this.ws()
    const s = this.pos
    let p = s
    let neg = false
    if (c === 0x2d) { neg = true; c = buf[++p]! }
    let v = 0
    const d0 = p
    while (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30)
      c = buf[++p]!
    }
    if (p === d0) throw giveUp
    if (c === 0x2e || c === 0x65 || c === 0x45 || p - d0 > 15) {
      while ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x65 || c === 0x45 || c === 0x2e) c = buf[++p]!
      const x = Number(Buffer.from(buf.buffer, buf.byteOffset + s, p - s).toString('latin1'))
      if (!Number.isFinite(x)) throw giveUp
      this.pos = p
      return x
    }
    this.pos = p
    return neg ? -v : v
  }

  /** Skip any value, iteratively (a 100,000-deep nest is fine). */
  skip(): void {
    const buf = this.buf
    let depth = 0
    do {
      const c = this.ws()
      if (this.pos >= this.end) throw giveUp
      if (c === 0x7b || c === 0x5b) { depth++; this.pos++ }
      else if (c === 0x7d || c === 0x5d) { depth--; this.pos++ }
      else if (c === 0x2c || c === 0x3a) this.pos++
      else if (c === Q) {
        let p = this.pos + 1
        while (p < this.end && buf[p] !== Q) { if (buf[p] === BS) p++; p++ }
        if (p >= this.end) throw giveUp
        this.pos = p + 1
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        let p = this.pos
        while (p < this.end && buf[p]! >= 0x61 && buf[p]! <= 0x7a) p++
        this.pos = p
      } else this.num()
      if (depth < 0) throw giveUp
    } while (depth > 0)
  }

  /**
   * At a flat object (`{...}` without nested objects or arrays, like a callFrame): its end and an
   * FNV-1a hash of its bytes, or -1 when it nests. The cursor does not move.
   */
  spanHash = 0
  flatObjectEnd(): number {
    const buf = this.buf
    let p = this.pos
    if (buf[p] !== 0x7b) return -1
    let h = 0x811c9dc5
    for (;;) {
      const c = buf[p]
      if (c === undefined) return -1
      h = Math.imul(h ^ c, 0x01000193)
      if (c === Q) {
        for (;;) {
          const d = buf[++p]
          if (d === undefined) return -1
          h = Math.imul(h ^ d, 0x01000193)
          if (d === Q) break
          if (d === BS) {
            const e = buf[++p]
            if (e === undefined) return -1
            h = Math.imul(h ^ e, 0x01000193)
          }
        }
      } else if (c === 0x7d) {
        this.spanHash = h
        return p + 1
      } else if ((c === 0x7b && p !== this.pos) || c === 0x5b) return -1
      p++
    }
  }

  /** `[n, n, ...]` into a F64List. */
  numArray(out: F64List): void {
    this.expect(0x5b)
    if (this.ws() === 0x5d) { this.pos++; return }
    do out.push(this.num())
    while (this.more(0x5d))
  }
}

/**
 * Scan the plain cpuprofile shape; undefined when the input is anything else (the caller then uses
 * JSON.parse). `makeFrame` turns (functionName, url, line, col) into a Frame or undefined for (root).
 */
export function scanCpuprofile(buf: Uint8Array, makeFrame: (fn: string, url: string, line: number | undefined, col: number | undefined) => Frame | undefined): ScannedProfile | undefined {
  const sc = new Scanner(buf)
  const strings = sc.strings
  const ids = new F64List(1024)
  const nodeFrame = new F64List(1024)
  const parents = new F64List(1024)
  const childStart = new F64List(1024)
  const childIds = new F64List(1024)
  const samples = new F64List(1024)
  const deltas = new F64List(1024)
  let sawNodes = false
  let sawDeltas = false
  let startTime: number | undefined
  let endTime: number | undefined
  const frames: Frame[] = []
  const frameIndex = new Map<string, number>()
  // (function name id, url id) -> (line, col) -> frame, without building a key string per node
  const byParts = new Map<number, Map<number, number>>()

  const frameFor = (fn: number, url: number, line: number, col: number): number => {
    // ids < 2^26 and line/col < 2^24 cover any real profile; others take the string-key path.
    const small = fn < 1 << 26 && url < 1 << 26 && line >= -2 && line < 1 << 24 && col >= -2 && col < 1 << 24 && Number.isInteger(line) && Number.isInteger(col)
    let inner: Map<number, number> | undefined
    const k2 = (line + 2) * 33554432 + (col + 2)
    if (small) {
      const k1 = (fn + 1) * 134217728 + (url + 1)
      inner = byParts.get(k1)
      if (inner === undefined) { inner = new Map(); byParts.set(k1, inner) }
      const f = inner.get(k2)
      if (f !== undefined) return f
    }
    let f: number | undefined
    const fr = makeFrame(fn >= 0 ? strings.strings[fn]! : '', url >= 0 ? strings.strings[url]! : '', line === -2 ? undefined : line, col === -2 ? undefined : col)
    if (!fr) f = -1
    else {
      const k = frameKey(fr)
      f = frameIndex.get(k)
      if (f === undefined) {
        f = frames.length
        frames.push(Object.freeze(fr))
        frameIndex.set(k, f)
      }
    }
    inner?.set(k2, f)
    return f
  }

  const spans = new SpanCache(buf)
  const node = (): void => {
    let id = NaN
    let parent = NaN
    let frame = -3 // -3: no callFrame yet
    childStart.push(childIds.n)
    sc.expect(0x7b)
    for (let k = sc.key(); k !== -1; k = sc.more(0x7d) ? sc.key() : -1) {
      switch (k) {
        case K.Id: id = sc.num(); break
        case K.CallFrame: {
          // The same call frame text recurs at every tree position of a function: look it up by
          // its bytes before parsing it.
          sc.ws()
          const start = sc.pos
          const end = sc.flatObjectEnd()
          const h = sc.spanHash
          if (end > 0) {
            const hit = spans.get(start, end, h)
            if (hit !== -2) { frame = hit; sc.pos = end; break }
          }
          let fn = -1
          let url = -1
          let line = -2 // -2: absent
          let col = -2
          sc.expect(0x7b)
          for (let j = sc.key(); j !== -1; j = sc.more(0x7d) ? sc.key() : -1) {
            switch (j) {
              case K.FunctionName: fn = sc.str(); break
              case K.Url: url = sc.str(); break
              case K.LineNumber: line = sc.num(); break
              case K.ColumnNumber: col = sc.num(); break
              default: sc.skip()
            }
          }
          frame = frameFor(fn, url, line, col)
          if (end > 0) spans.set(start, end, h, frame)
          break
        }
        case K.Children: sc.numArray(childIds); break
        case K.Parent: parent = sc.num(); break
        default: sc.skip()
      }
    }
    if (Number.isNaN(id) || frame === -3) throw giveUp
    ids.push(id)
    parents.push(parent)
    nodeFrame.push(frame)
  }

  try {
    sc.expect(0x7b)
    for (let k = sc.key(); k !== -1; k = sc.more(0x7d) ? sc.key() : -1) {
      switch (k) {
        case K.Nodes:
          sawNodes = true
          sc.expect(0x5b)
          if (sc.ws() === 0x5d) { sc.pos++; break }
          do node()
          while (sc.more(0x5d))
          break
        case K.Samples: sc.numArray(samples); break
        case K.TimeDeltas: sawDeltas = true; sc.numArray(deltas); break
        case K.StartTime: startTime = sc.num(); break
        case K.EndTime: endTime = sc.num(); break
        case K.Wrapper: return undefined
        default: sc.skip()
      }
    }
    sc.ws()
    if (sc.pos !== sc.end || !sawNodes) return undefined
  } catch (e) {
    if (e === giveUp) return undefined
    throw e
  }
  childStart.push(childIds.n)
  return {
    nodes: {
      n: ids.n,
      id: ids.done(),
      frame: Int32Array.from(nodeFrame.done()),
      parent: parents.done(),
      childStart: Int32Array.from(childStart.done()),
      childIds: childIds.done(),
      frames,
    },
    samples: samples.done(),
    timeDeltas: sawDeltas ? deltas.done() : undefined,
    startTime,
    endTime,
  }
}
