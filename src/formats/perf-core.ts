// The `perf script` line machine shared by `meshprof fold` (perf-fold.ts) and the model importer
// (perf-script.ts). It reproduces FlameGraph's stackcollapse-perf.pl (@41fee1f99f92) line by line:
// the same regular expressions (rewritten with perl's byte semantics: ASCII \s \d \w, `.` matches
// '\r'), the same state (process name, pending stack, period, first-event filter) and the same
// tidying of function names. It was written from the behaviour of that script; no code is copied.
//
// Input is raw bytes. Text is handled as latin1 strings (one char per byte), so every byte,
// including invalid UTF-8, goes through unchanged and string order is byte order, like perl's.
//
// Speed: frame lines (the bulk of the input) are parsed on the Buffer. The part of a frame line
// after the address ("sym+0x1f (dso)") is looked up in a byte-keyed hash table; only a line never
// seen before is turned into a string and tidied. Event lines (one per sample) are matched on
// bytes too (matchEvent / matchPeriod implement EVENT_RE / PERIOD_RE exactly; a test checks them
// against the regular expressions).
import { doubled, slotsFor } from '../model/growable.js'

/** Options that change how lines fold; the same names as stackcollapse-perf.pl's. */
export interface CoreOptions {
  pid?: boolean
  tid?: boolean
  kernel?: boolean
  jit?: boolean
  addrs?: boolean
  /** '' = default: the first event type seen. */
  eventFilter?: string
}

// perl's \s for byte strings: space \t \n \r \f \v.
const SP = '[ \\t\\n\\r\\f\\v]'
const NSP = '[^ \\t\\n\\r\\f\\v]'
/**
 * `^(\S.+?)\s+(\d+)\/*(\d+)*\s+` : event line (comm pid[/tid]). Perl's `(\d+)*` is written as a
 * whole digit run, `(?:(\d+)(?!\d))?`: the same first match, but V8 backtracked exponentially
 * through ways to split a long digit run that is not followed by whitespace (a hang on fuzzed input).
 */
export const EVENT_RE = new RegExp(`^(${NSP}.+?)${SP}+(\\d+)(?!\\d)\\/*(?:(\\d+)(?!\\d))?${SP}+`, 's')
/** `:\s*(\d+)*\s+(\S+):\s*$` : optional period and the event name at the end of an event line (same rewrite). */
export const PERIOD_RE = new RegExp(`:${SP}*(?:(\\d+)(?!\\d))?${SP}+(${NSP}+):${SP}*$`, 's')
/** `^\s*(\w+)\s*(.+) \((.*)\)` : stack line (address, symbol, module). */
export const STACK_RE = new RegExp(`^${SP}*(\\w+)${SP}*(.+) \\((.*)\\)`, 's')
/**
 * A sample of a recording made without -g: `comm pid [cpu] time: [period] event: addr sym (dso)` on
 * one line. perf pads `comm` to 16 columns in that mode, so the line may start with blanks.
 */
export const ONE_LINE_SAMPLE = /^[ \t]*(\S.*?[ \t]+\d+(?:\/\d+)?[ \t]+(?:\[\d+\][ \t]+)?\d+\.\d+:[ \t]+(?:\d+[ \t]+)?\S+:)[ \t]+([0-9a-fA-F]+[ \t]+.* \(.*\))[ \t\r]*$/
/** An event line with perf's comm padding (no -g; or a sample whose call chain is empty). */
export const PADDED_EVENT = /^[ \t]+(\S.*?[ \t]+\d+(?:\/\d+)?[ \t]+(?:\[\d+\][ \t]+)?\d+\.\d+:[ \t]+(?:\d+[ \t]+)?\S+:)[ \t\r]*$/
/** perf script's timestamp field: ` 1389.811065: ` (seconds.fraction followed by a colon). */
const TIME_RE = new RegExp(`${SP}(\\d+)\\.(\\d+):(?:${SP}|$)`)

const OFFSET_RE = /\+0x[\da-f]+$/
const GO_METHOD_RE = /\.\(.*\)\./s
const PAREN_TAIL_RE = /\((?!anonymous namespace\)).*/s
const QUOTES_RE = /["']/g
const KERNEL_MOD_RE = /(^\[|vmlinux$)/
const JIT_MOD_RE = /\/tmp\/perf-\d+\.map/

// Byte classes.
const C_SPACE = 1
const C_WORD = 2
const CLASS = new Uint8Array(256)
for (const c of [32, 9, 10, 13, 12, 11]) CLASS[c] = C_SPACE
for (let c = 48; c <= 57; c++) CLASS[c] = C_WORD
for (let c = 65; c <= 90; c++) CLASS[c] = C_WORD
for (let c = 97; c <= 122; c++) CLASS[c] = C_WORD
CLASS[95] = C_WORD

type Latin1Slicer = { latin1Slice?: (s: number, e: number) => string }
/** Bytes as a latin1 string (one char per byte). Buffer#latin1Slice skips toString's argument checks. */
export const latin1: (b: Buffer, s: number, e: number) => string =
  typeof (Buffer.prototype as unknown as Latin1Slicer).latin1Slice === 'function'
    ? (b, s, e) => (b as unknown as Required<Latin1Slicer>).latin1Slice(s, e)
    : (b, s, e) => b.toString('latin1', s, e)

/** A line longer than this is skipped as unrecognized (perl would keep reading it). */
export const MAX_LINE = 64 * 1024 * 1024

/** One distinct "symbol (module)" part of a stack line, tidied. */
export interface Entry {
  /** Output frames of this line, leaf-most LAST (perl's @inline order); may be empty. */
  readonly funcs: readonly string[]
  /** The module text between the parentheses. */
  readonly mod: string
  /** The symbol before tidying (offset stripped), for the model importer. */
  readonly raw: string
  /** Tidied under a process name starting with "java" (Java L-prefix rule). */
  readonly java: boolean
  /** The address, for entries whose output depends on it (`--addrs` on [unknown]). */
  readonly pc?: string
}

/** Where the parser keeps the entries it makes; ids are positions (an array will do). */
export interface EntryStore {
  readonly length: number
  push(e: Entry): unknown
}

/** What the parser hands over for each finished sample. */
export interface Sink {
  /** Set true to get event-line details (`event`). */
  readonly wantsEvents: boolean
  /**
   * A finished sample: `entries[0..len)` are entry ids in line order (leaf first), entries with
   * no output frames already left out. `period` is perl's count for it.
   */
  sample(pname: number, entries: Int32Array, len: number, period: number | bigint): void
  /** Called for each accepted event line when `wantsEvents`. */
  event?(line: string, comm: string, pid: string, tid: string, event: string | undefined, timeNs: number | undefined, period: number | bigint): void
}

/** Perl's numification of a period string of digits (IV/UV when it fits, else a double). */
export function periodValue(s: string): number | bigint {
  if (s.length <= 15) return parseInt(s, 10)
  const b = BigInt(s)
  if (b <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(b)
  if (b <= 0xffffffffffffffffn) return b
  return Number(s)
}

/** Perl's string form of a count: integers as digits, doubles beyond 2^64 with %.15g. */
export function formatCount(v: number | bigint): string {
  if (typeof v === 'bigint') {
    if (v <= 0xffffffffffffffffn) return v.toString()
    v = Number(v)
  }
  if (Number.isInteger(v) && Math.abs(v) < 1.8446744073709552e19) {
    if (Math.abs(v) <= Number.MAX_SAFE_INTEGER) return String(v)
    return BigInt(v).toString()
  }
  // %.15g
  if (!Number.isFinite(v)) return v > 0 ? 'Inf' : v < 0 ? '-Inf' : 'NaN'
  const exp = Math.floor(Math.log10(Math.abs(v)))
  if (exp < -5 || exp >= 15) {
    let [m, e] = v.toExponential(14).split('e') as [string, string]
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '')
    const en = Number(e)
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`
  }
  let s = v.toPrecision(15)
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '')
  return s
}

/** Add to a count the way perl's `+=` would (exact up to 2^64, then double). */
export function addCount(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b
    if (s <= Number.MAX_SAFE_INTEGER) return s
    if (Number.isInteger(a) && Number.isInteger(b)) return addCount(BigInt(a), BigInt(b))
    return s
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    const s = a + b
    return s <= 0xffffffffffffffffn ? s : Number(a) + Number(b)
  }
  if (typeof a === 'bigint') return Number.isInteger(b) ? addCount(a, BigInt(b)) : Number(a) + (b as number)
  return Number.isInteger(a) ? addCount(BigInt(a), b) : (a as number) + Number(b)
}

/**
 * The output frames for one stack line, exactly as stackcollapse-perf.pl builds them
 * (offset strip, skip "(...)" symbols, split "a->b" inline chains, [unknown] -> [dso],
 * tidy, Java L prefix, annotations). Returns null when perl skips the line (`next`).
 */
export function tidyFrames(rawfunc: string, mod: string, pc: string, java: boolean, o: CoreOptions): string[] | null {
  rawfunc = rawfunc.replace(OFFSET_RE, '')
  if (rawfunc.charCodeAt(0) === 40 /* ( */) return null
  const parts = rawfunc.split('->')
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  const out: string[] = []
  for (let i = 0; i < parts.length; i++) {
    let func = parts[i]!
    if (func === '[unknown]') {
      if (mod !== '[unknown]') func = mod.slice(mod.lastIndexOf('/') + 1)
      else func = 'unknown'
      func = o.addrs ? `[${func} <${pc}>]` : `[${func}]`
    }
    if (func.includes(';')) func = func.replace(/;/g, ':')
    if (func.includes('(') && !GO_METHOD_RE.test(func)) func = func.replace(PAREN_TAIL_RE, '')
    if (func.includes('"') || func.includes("'")) func = func.replace(QUOTES_RE, '')
    if (java && func.charCodeAt(0) === 76 /* L */ && func.includes('/')) func = func.slice(1)
    if (i > 0) {
      if (!func.includes('_[i]')) func += '_[i]'
    } else if (o.kernel && KERNEL_MOD_RE.test(mod) && !mod.includes('unknown')) {
      func += '_[k]'
    } else if (o.jit && JIT_MOD_RE.test(mod)) {
      if (!func.includes('_[j]')) func += '_[j]'
    }
    out.push(func)
  }
  return out
}

/** True when the entry's output depends on the line's address (only `--addrs` on [unknown]). */
function dependsOnPc(rawfunc: string, o: CoreOptions): boolean {
  return Boolean(o.addrs) && rawfunc.replace(OFFSET_RE, '').split('->').includes('[unknown]')
}

// Byte classes for the hot loops: '\n' is kept apart from perl's other \s characters so a scan
// stops at the end of the line.
const K_SPACE = 1
const K_WORD = 2
const K_NL = 3
const KIND = new Uint8Array(256)
for (const c of [32, 9, 13, 12, 11]) KIND[c] = K_SPACE
for (let c = 0; c < 256; c++) if (CLASS[c] === C_WORD) KIND[c] = K_WORD
KIND[10] = K_NL

const PC_MASK = (1 << 16) - 1

function isSp(c: number): boolean {
  return CLASS[c] === C_SPACE
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

/** The key hash over b[i, e): 4-byte words while a whole word fits, then single bytes. */
function hashTail(b: Uint8Array, dv: DataView, i: number, e: number, h: number): number {
  while (i + 4 <= e) {
    h = Math.imul(h ^ dv.getUint32(i, true), 0x5bd1e995)
    h ^= h >>> 13
    i += 4
  }
  while (i < e) {
    h = Math.imul(h ^ b[i]!, 0x5bd1e995)
    h ^= h >>> 13
    i++
  }
  return h
}

/**
 * a[as, as + len) equals b[bs, bs + len)? Eight bytes at a time as float64: equal doubles are equal
 * bytes except 0 === -0 (hence the x === 0 exit) and NaN, which equals nothing; both fall through to
 * the exact 4-byte and byte compares.
 */
function sameBytes(a: DataView, as: number, b: DataView, bs: number, len: number): boolean {
  let j = 0
  while (j + 8 <= len) {
    const x = a.getFloat64(as + j, true)
    if (x !== b.getFloat64(bs + j, true) || x === 0) break
    j += 8
  }
  while (j + 4 <= len) {
    if (a.getUint32(as + j, true) !== b.getUint32(bs + j, true)) return false
    j += 4
  }
  while (j < len) {
    if (a.getUint8(as + j) !== b.getUint8(bs + j)) return false
    j++
  }
  return true
}

function finishHash(h: number): number {
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  return h ^ (h >>> 12)
}

/** Result slots of the byte matchers below (start/end offsets; -1 = group did not take part). */
export class LineMatch {
  commEnd = -1
  pidS = -1
  pidE = -1
  tidS = -1
  tidE = -1
  perS = -1
  perE = -1
  evS = -1
  evE = -1
}

/**
 * EVENT_RE on bytes: `^(\S.+?)\s+(\d+)\/*(\d+)*\s+`. The lazy comm group ends at the first
 * whitespace (at least 2 bytes in) from which `\s+ digits [/* digits] \s` follows; the greedy
 * parse is the only one that can succeed at a given end, so no other backtracking matters.
 */
export function matchEvent(b: Uint8Array, s: number, e: number, m: LineMatch): boolean {
  if (s >= e || isSp(b[s]!)) return false
  for (let p = s + 2; p < e; p++) {
    if (!isSp(b[p]!)) continue
    let i = p + 1
    while (i < e && isSp(b[i]!)) i++
    const ds = i
    while (i < e && isDigit(b[i]!)) i++
    if (i === ds) continue
    const de = i
    while (i < e && b[i] === 47) i++
    const ts = i
    while (i < e && isDigit(b[i]!)) i++
    const te = i
    if (i < e && isSp(b[i]!)) {
      m.commEnd = p
      m.pidS = ds
      m.pidE = de
      m.tidS = te > ts ? ts : -1
      m.tidE = te > ts ? te : -1
      return true
    }
  }
  return false
}

/**
 * PERIOD_RE on bytes: `:\s*(\d+)*\s+(\S+):\s*$`, tried at each ':' from the left. The event
 * name is a whitespace-free run ending in ':' followed only by whitespace; the period, when
 * present, is a digit run between whitespace just after the colon.
 */
export function matchPeriod(b: Uint8Array, s: number, e: number, m: LineMatch): boolean {
  for (let q = s; q < e; q++) {
    if (b[q] !== 58) continue
    let i = q + 1
    const a0 = i
    while (i < e && isSp(b[i]!)) i++
    const wsA = i - a0
    let perS = -1
    let perE = -1
    let rS: number
    const ds = i
    while (i < e && isDigit(b[i]!)) i++
    if (i > ds) {
      const bs = i
      while (i < e && isSp(b[i]!)) i++
      if (i > bs) {
        perS = ds
        perE = bs
        rS = i
      } else if (wsA >= 1) rS = ds
      else continue
    } else if (wsA >= 1) rS = ds
    else continue
    i = rS
    while (i < e && !isSp(b[i]!)) i++
    const rE = i
    if (rE - rS < 2 || b[rE - 1] !== 58) continue
    while (i < e && isSp(b[i]!)) i++
    if (i !== e) continue
    m.perS = perS
    m.perE = perE
    m.evS = rS
    m.evE = rE - 1
    return true
  }
  return false
}

/**
 * The line-by-line state machine. Feed it bytes with `feed` (whole lines), then `end()`.
 * Entry ids are stable for the parser's lifetime; `entries[id]` describes each.
 */
export class PerfParser {
  /** Process-name strings by id (as they appear in the output: spaces already '_'). */
  readonly pnames: string[] = []
  private readonly pnameIds = new Map<string, number>()
  private readonly o: CoreOptions
  private filter: string
  private filterBytes: Buffer
  private readonly defaultedFilter: boolean
  /** The event type this parser defaulted to (first one it saw), if any. */
  firstEvent: string | undefined
  /** The first event type it dropped because of the default filter (perl's stderr note). */
  droppedEvent: string | undefined
  lines = 0
  unrecognized = 0
  firstUnrecognized: string | undefined
  longLines = 0
  samples = 0
  private readonly m = new LineMatch()
  private readonly needIds: boolean
  // A few recent process names (8 slots of 256 bytes), so event lines need no string.
  private readonly lastComm = new Uint8Array(8 * 256)
  private readonly lastCommLen = new Int32Array(8).fill(-1)
  private readonly lastPname = new Int32Array(8)
  private readonly lastJava = new Uint8Array(8)
  private commSlot = 0

  // Current sample.
  private pname = -1
  private java = 0
  private period: number | bigint = 1
  private stack = new Int32Array(1024)
  private depth = 0

  // Byte-keyed entry cache: key = bytes after the address and its blanks (+ java flag).
  private keyArena = new Uint8Array(1 << 16)
  private arenaDv: DataView<ArrayBufferLike> = new DataView(this.keyArena.buffer)
  private keyUsed = 0
  private kStart = new Int32Array(1024)
  private kLen = new Int32Array(1024)
  private kHash = new Int32Array(1024)
  private kJava = new Uint8Array(1024)
  /** entry id, or -1 for "perl skips this line", or -2 - i for pc-dependent template i. */
  private kEntry = new Int32Array(1024)
  private kCount = 0
  private slots = new Int32Array(4096).fill(-1)
  private mask = 4095
  /** Candidate key (index + 1, 0 = none) by a hash of the line's address. */
  private readonly pcCand = new Int32Array(PC_MASK + 1)
  private readonly templates: { raw: string; mod: string }[] = []
  private readonly strEntries = new Map<string, number>()

  /**
   * `presetDefault`: the event type the default filter WOULD pick (found by a pre-scan of the
   * file's start), for a parser that starts in the middle of a file.
   */
  constructor(opts: CoreOptions, private readonly sink: Sink, presetDefault?: string, readonly entries: EntryStore = []) {
    this.o = opts
    this.defaultedFilter = !opts.eventFilter
    this.filter = opts.eventFilter || presetDefault || ''
    this.filterBytes = Buffer.from(this.filter, 'latin1')
    this.needIds = Boolean(opts.pid || opts.tid || sink.wantsEvents)
  }

  /** The event filter in force ('' while none was seen yet). */
  get eventFilter(): string {
    return this.filter
  }

  /** Process every complete line in b[start, end); returns where the incomplete tail starts. */
  feed(b: Buffer, start: number, end: number): number {
    if (end <= start) return start
    const last = b.lastIndexOf(10, end - 1)
    if (last < start) return start
    this.setView(b)
    let pos = start
    while (pos <= last) {
      const k = KIND[b[pos]!]!
      if (k === K_SPACE) {
        pos = this.frameFast(b, pos)
      } else if (k === K_NL) {
        this.lines++
        this.blank()
        pos++
      } else {
        const nl = b.indexOf(10, pos)
        this.line(b, pos, nl)
        pos = nl + 1
      }
    }
    return pos
  }

  /** Process a last line that has no newline, then finish. `flushLast`: keep an unterminated sample. */
  end(b: Buffer | undefined, start: number, end: number, flushLast: boolean): void {
    if (b && end > start) this.line(b, start, end)
    if (flushLast) this.blank()
  }

  /** A line too long to buffer: counted as unrecognized, like perl's warning. */
  skipLongLine(): void {
    this.lines++
    this.longLines++
    this.unrecognized++
  }

  /** Any one line b[s, e) (no newline inside). */
  private line(b: Buffer, s: number, e: number): void {
    this.lines++
    if (s === e) {
      this.blank()
      return
    }
    const c0 = b[s]!
    if (c0 === 35 /* # */) return
    if (CLASS[c0] !== C_SPACE && matchEvent(b, s, e, this.m)) {
      this.eventLine(b, s, e)
      return
    }
    this.frameLine(b, s, e)
  }

  private blank(): void {
    if (this.pname < 0) return
    this.samples++
    this.sink.sample(this.pname, this.stack, this.depth, this.period)
    this.depth = 0
    this.pname = -1
  }

  private eventLine(b: Buffer, s: number, e: number): void {
    const m = this.m
    const commEnd = m.commEnd
    const pidS = m.pidS
    const pidE = m.pidE
    const tidS = m.tidS
    const tidE = m.tidE
    let event: string | undefined
    let perS = -1
    let perE = -1
    if (matchPeriod(b, s, e, m)) {
      perS = m.perS
      perE = m.perE
      const evS = m.evS
      const evE = m.evE
      if (this.filter === '') {
        event = latin1(b, evS, evE)
        this.filter = event
        this.filterBytes = Buffer.from(event, 'latin1')
        if (this.defaultedFilter) this.firstEvent = event
      } else {
        const fb = this.filterBytes
        let same = evE - evS === fb.length
        for (let i = 0; same && i < fb.length; i++) if (b[evS + i] !== fb[i]) same = false
        if (!same) {
          if (this.defaultedFilter && this.droppedEvent === undefined) this.droppedEvent = latin1(b, evS, evE)
          return
        }
        event = this.filter
      }
    }
    // perl: `$period = 1 if not $period` ("" and "0" are false).
    let period: number | bigint = 1
    if (perS >= 0 && !(perE - perS === 1 && b[perS] === 48)) {
      if (perE - perS <= 15) {
        let v = 0
        for (let i = perS; i < perE; i++) v = v * 10 + (b[i]! - 48)
        period = v
      } else period = periodValue(latin1(b, perS, perE))
    }
    this.period = period
    // Consecutive samples mostly come from the same process: reuse its name without a string.
    if (!this.needIds) {
      const n = commEnd - s
      const lc = this.lastComm
      for (let slot = 0; slot < 8; slot++) {
        if (this.lastCommLen[slot] !== n) continue
        const base = slot * 256
        let j = 0
        while (j < n && lc[base + j] === b[s + j]) j++
        if (j === n) {
          this.pname = this.lastPname[slot]!
          this.java = this.lastJava[slot]!
          return
        }
      }
    }
    const comm = latin1(b, s, commEnd)
    let pname = comm
    let pid = ''
    let tid = ''
    if (this.needIds) {
      // perl: `if (not $tid) { $tid = $pid; $pid = "?" }` (a missing or "0" tid).
      pid = latin1(b, pidS, pidE)
      tid = tidS < 0 ? '' : latin1(b, tidS, tidE)
      if (tid === '' || tid === '0') {
        tid = pid
        pid = '?'
      }
      if (this.o.tid) pname = `${comm}-${pid}/${tid}`
      else if (this.o.pid) pname = `${comm}-${pid}`
    }
    if (pname.includes(' ')) pname = pname.replace(/ /g, '_')
    let id = this.pnameIds.get(pname)
    if (id === undefined) {
      id = this.pnames.length
      this.pnames.push(pname)
      this.pnameIds.set(pname, id)
    }
    this.pname = id
    this.java = pname.startsWith('java') ? 1 : 0
    if (!this.needIds && commEnd - s <= 256) {
      const slot = this.commSlot
      this.commSlot = (slot + 1) & 7
      this.lastComm.set(b.subarray(s, commEnd), slot * 256)
      this.lastCommLen[slot] = commEnd - s
      this.lastPname[slot] = id
      this.lastJava[slot] = this.java
    }
    if (this.sink.wantsEvents) {
      const str = latin1(b, s, e)
      const tm = TIME_RE.exec(str)
      let t: number | undefined
      if (tm) t = parseInt(tm[1]!, 10) * 1e9 + parseInt(tm[2]!.slice(0, 9).padEnd(9, '0'), 10)
      this.sink.event!(str, comm, pid, tid, event, t, period)
    }
  }

  private push(entry: number): void {
    if (this.depth === this.stack.length) {
      const n = new Int32Array(this.stack.length * 2)
      n.set(this.stack)
      this.stack = n
    }
    this.stack[this.depth++] = entry
  }

  /**
   * Hot path: an indented line starting at `s` with a newline somewhere after it. Scans blanks,
   * the address, blanks, then hashes the rest up to the newline in one pass. Returns the offset
   * after the newline.
   */
  private frameFast(b: Buffer, s: number): number {
    this.lines++
    let i = s + 1
    // perf pads addresses with runs of spaces: skip them 4 at a time.
    const lim0 = this.dvLen - 4
    while (i <= lim0 && this.dv.getUint32(i, true) === 0x20202020) i += 4
    let k = KIND[b[i]!]!
    while (k === K_SPACE) k = KIND[b[++i]!]!
    if (k !== K_WORD || this.pname < 0) {
      // Not an address (or no event yet / filtered): the slow path decides and warns.
      const nl = b.indexOf(10, i)
      this.lines--
      this.line(b, s, nl)
      return nl + 1
    }
    const pcStart = i
    // The address picks a candidate key (most recent line seen at that address); the rest of
    // the line is then checked byte for byte against it, so a hit needs no hash pass at all.
    let ph = this.java ? 0x2f93a1c5 : 0x811c9dc5
    while (k === K_WORD) {
      ph = Math.imul(ph ^ b[i]!, 0x01000193)
      k = KIND[b[++i]!]!
    }
    const pcEnd = i
    while (k === K_SPACE) k = KIND[b[++i]!]!
    const r = i
    const pslot = (ph ^ (ph >>> 15)) & PC_MASK
    const cand = this.pcCand[pslot]! - 1
    if (cand >= 0 && this.kJava[cand] === this.java) {
      const len = this.kLen[cand]!
      if (r + len < this.dvLen && b[r + len] === 10) {
        if (sameBytes(this.arenaDv, this.kStart[cand]!, this.dv, r, len)) {
          const ent = this.kEntry[cand]!
          if (ent >= 0) this.push(ent)
          else if (ent <= -2) this.pcEntry(-2 - ent, latin1(b, pcStart, pcEnd))
          return r + len + 1
        }
      }
    }
    // Hash 4 bytes at a time until the word holding the newline, then byte by byte (the same
    // function as hashKey, which knows the end up front).
    let h = this.java ? 0x2f93a1c5 : 0x811c9dc5
    const dv = this.dv
    const lim = this.dvLen - 4
    for (;;) {
      if (i > lim) {
        const e = b.indexOf(10, i)
        h = hashTail(b, dv, i, e, h)
        i = e
        break
      }
      const v = dv.getUint32(i, true)
      const x = v ^ 0x0a0a0a0a
      if (((x - 0x01010101) & ~x & 0x80808080) !== 0) {
        let c = b[i]!
        while (c !== 10) {
          h = Math.imul(h ^ c, 0x5bd1e995)
          h ^= h >>> 13
          c = b[++i]!
        }
        break
      }
      h = Math.imul(h ^ v, 0x5bd1e995)
      h ^= h >>> 13
      i += 4
    }
    const found = this.lookup(b, s, pcStart, pcEnd, r, i, finishHash(h))
    if (found >= 0) this.pcCand[pslot] = found + 1
    return i + 1
  }

  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8))
  private dvBuf: Buffer | undefined
  private dvLen = 0

  private setView(b: Buffer): void {
    if (this.dvBuf !== b) {
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
      this.dvBuf = b
      this.dvLen = b.byteLength
    }
  }

  /** A stack line with a known end (non-indented lines, the last line of a file). */
  private frameLine(b: Buffer, s: number, e: number): void {
    let i = s
    while (i < e && CLASS[b[i]!] === C_SPACE) i++
    const pcStart = i
    while (i < e && CLASS[b[i]!] === C_WORD) i++
    const pcEnd = i
    if (pcEnd === pcStart) {
      this.noteUnrecognized(b, s, e)
      return
    }
    if (this.pname < 0) return // perl: `next if not $pname` (filtered / no event yet)
    while (i < e && CLASS[b[i]!] === C_SPACE) i++
    const r = i
    this.setView(b)
    this.lookup(b, s, pcStart, pcEnd, r, e, finishHash(hashTail(b, this.dv, r, e, this.java ? 0x2f93a1c5 : 0x811c9dc5)))
  }

  /** Returns the key index of the line's symbol part, or -1 when it is not cached. */
  private lookup(b: Buffer, s: number, pcStart: number, pcEnd: number, r: number, e: number, h: number): number {
    const java = this.java
    const len = e - r
    let slot = h & this.mask
    for (;;) {
      const k = this.slots[slot]!
      if (k < 0) break
      if (this.kHash[k] === h && this.kLen[k] === len && this.kJava[k] === java) {
        if (sameBytes(this.arenaDv, this.kStart[k]!, this.dv, r, len)) {
          const ent = this.kEntry[k]!
          if (ent >= 0) this.push(ent)
          else if (ent <= -2) this.pcEntry(-2 - ent, latin1(b, pcStart, pcEnd))
          return k
        }
      }
      slot = (slot + 1) & this.mask
    }
    // New key: perl's greedy split `(.+) \((.*)\)` computed on bytes: the last " (" that has a
    // ')' after it; the module ends at the last ')'.
    let lp = e - 1
    while (lp >= r && b[lp] !== 41 /* ) */) lp--
    let k = lp - 2
    while (k >= r + 1 && !(b[k] === 32 && b[k + 1] === 40)) k--
    if (k < r + 1) {
      // Not the plain shape: let the regex (with its backtracking) decide; not cached.
      this.slowFrame(b, s, e)
      return -1
    }
    const raw = latin1(b, r, k)
    const mod = latin1(b, k + 2, lp)
    let ent: number
    if (dependsOnPc(raw, this.o)) {
      this.templates.push({ raw, mod })
      ent = -2 - (this.templates.length - 1)
    } else {
      const funcs = tidyFrames(raw, mod, '', java === 1, this.o)
      ent = funcs === null || funcs.length === 0 ? -1 : this.newEntry(funcs, mod, raw.replace(OFFSET_RE, ''))
    }
    this.insertKey(b, r, e, h, java, ent, slot)
    if (ent >= 0) this.push(ent)
    else if (ent <= -2) this.pcEntry(-2 - ent, latin1(b, pcStart, pcEnd))
    return this.kCount - 1
  }

  private newEntry(funcs: string[], mod: string, raw: string, pc?: string): number {
    const java = this.java === 1
    this.entries.push(pc === undefined ? { funcs, mod, raw, java } : { funcs, mod, raw, java, pc })
    return this.entries.length - 1
  }

  /** Entry for a pc-dependent template (`--addrs` with [unknown]) at one address. */
  private pcEntry(t: number, pc: string): void {
    const key = `${t}\u0000${pc}\u0000${this.java}`
    let id = this.strEntries.get(key)
    if (id === undefined) {
      const { raw, mod } = this.templates[t]!
      const funcs = tidyFrames(raw, mod, pc, this.java === 1, this.o)
      id = funcs === null || funcs.length === 0 ? -1 : this.newEntry(funcs, mod, raw.replace(OFFSET_RE, ''), pc)
      this.strEntries.set(key, id)
    }
    if (id >= 0) this.push(id)
  }

  private slowFrame(b: Buffer, s: number, e: number): void {
    const str = latin1(b, s, e)
    // STACK_RE cannot match without a ')' and a " (" before it, and on a long line it backtracks
    // quadratically before failing (a 2.8 MB fuzzed frame line took minutes): say no first.
    const close = str.lastIndexOf(')')
    const m = close < 0 || str.lastIndexOf(' (', close) < 0 ? null : STACK_RE.exec(str)
    if (!m) {
      this.noteUnrecognized(b, s, e)
      return
    }
    const [, pc, raw, mod] = m as unknown as [string, string, string, string]
    const key = `S\u0000${str}\u0000${this.java}`
    let id = this.strEntries.get(key)
    if (id === undefined) {
      const funcs = tidyFrames(raw, mod, pc, this.java === 1, this.o)
      id = funcs === null || funcs.length === 0 ? -1 : this.newEntry(funcs, mod, raw.replace(OFFSET_RE, ''), pc)
      if (this.strEntries.size < 100000) this.strEntries.set(key, id)
    }
    if (id >= 0) this.push(id)
  }

  private noteUnrecognized(b: Buffer, s: number, e: number): void {
    this.unrecognized++
    if (this.firstUnrecognized === undefined) this.firstUnrecognized = latin1(b, s, Math.min(e, s + 200))
  }

  private insertKey(b: Buffer, r: number, e: number, h: number, java: number, ent: number, slot: number): void {
    const len = e - r
    if (this.keyUsed + len > this.keyArena.length) {
      const n = new Uint8Array(Math.max(this.keyArena.length * 2, this.keyUsed + len))
      n.set(this.keyArena.subarray(0, this.keyUsed))
      this.keyArena = n
      this.arenaDv = new DataView(n.buffer)
    }
    this.keyArena.set(b.subarray(r, e), this.keyUsed)
    if (this.kCount === this.kStart.length) {
      this.kStart = doubled(this.kStart)
      this.kLen = doubled(this.kLen)
      this.kHash = doubled(this.kHash)
      this.kJava = doubled(this.kJava)
      this.kEntry = doubled(this.kEntry)
    }
    const k = this.kCount++
    this.kStart[k] = this.keyUsed
    this.kLen[k] = len
    this.kHash[k] = h
    this.kJava[k] = java
    this.kEntry[k] = ent
    this.keyUsed += len
    this.slots[slot] = k
    if (this.kCount * 2 > this.mask) this.rehash()
  }

  private rehash(): void {
    this.slots = slotsFor(this.kHash, this.kCount, (this.mask + 1) * 2)
    this.mask = this.slots.length - 1
  }
}
