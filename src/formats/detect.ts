// Which format a profile is, from its first bytes (HEAD_BYTES of the decompressed content), and
// where its importer lives. Every sniffer is here and an importer is loaded only once picked:
// detecting a perf script file costs this module, not the seven parsers and the model behind them
// (a third of `meshprof fold`'s start-up). Order matters: binary and JSON formats with unmistakable
// keys first, then the permissive text formats.
import { decodeText, type InputSource } from './source.js'
import { EVENT_RE, ONE_LINE_SAMPLE, PADDED_EVENT } from './perf-core.js'
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from './protobuf.js'
import type { FormatId, Importer } from './types.js'
import { EXIT, MeshprofError, UnrecognizedFormatError, UsageError } from '../util/errors.js'

/** A format of the registry: its content test, and its importer (loaded on first use). */
export interface FormatEntry {
  readonly id: FormatId
  /** True when the head of the (decompressed) content looks like this format. */
  sniff(head: Buffer, text: string): boolean
  /** Whether its importer reads whole directories (a capture directory, a `<pid>.0x/` folder). */
  readonly readsDirectories: boolean
  importer(): Promise<Importer>
}

export const FORMATS: readonly FormatEntry[] = [
  { id: 'capture', sniff: sniffCapture, readsDirectories: true, importer: async () => (await import('./capture-file.js')).captureImporter },
  { id: 'cpuprofile', sniff: sniffCpuprofile, readsDirectories: false, importer: async () => (await import('./cpuprofile.js')).cpuprofileImporter },
  { id: 'speedscope', sniff: sniffSpeedscope, readsDirectories: false, importer: async () => (await import('./speedscope.js')).speedscopeImporter },
  { id: 'pprof', sniff: sniffPprof, readsDirectories: false, importer: async () => (await import('./pprof.js')).pprofImporter },
  { id: 'v8-prof', sniff: sniffV8Prof, readsDirectories: true, importer: async () => (await import('./v8-prof.js')).v8ProfImporter },
  { id: 'perf-script', sniff: sniffPerfScript, readsDirectories: false, importer: async () => (await import('./perf-script.js')).perfScriptImporter },
  { id: 'folded', sniff: sniffFolded, readsDirectories: false, importer: async () => (await import('./folded.js')).foldedImporter },
]

export const FORMAT_IDS: readonly FormatId[] = FORMATS.map((f) => f.id)

export function formatEntry(id: string): FormatEntry {
  const f = FORMATS.find((e) => e.id === id)
  if (!f) throw new UsageError(`unknown format '${id}' (known: ${FORMAT_IDS.join(', ')})`)
  return f
}

/** Which format this content is: the first whose sniffer says yes (a sniffer that throws says no). */
export function detectFormat(input: InputSource): FormatEntry {
  const text = decodeText(input.head)
  for (const f of FORMATS) {
    let yes = false
    try {
      yes = f.sniff(input.head, text)
    } catch {
      yes = false
    }
    if (yes) return f
  }
  if (input.head.length === 0) throw new MeshprofError(`${input.name}: empty input, no profile in it`, EXIT.BAD_INPUT)
  throw new UnrecognizedFormatError(input.name, [...FORMAT_IDS])
}

// ---- meshprof capture files ---------------------------------------------------------------------

export function sniffCapture(_head: Buffer, text: string): boolean {
  const t = text.trimStart()
  if (!t.startsWith('{')) return false
  return /^\{\s*"meshprof"\s*:\s*"(capture|mesh-capture)"/.test(t)
}

// ---- V8 .cpuprofile -----------------------------------------------------------------------------

const JSON_START = /^\s*[[{]/

export function sniffCpuprofile(_head: Buffer, text: string): boolean {
  if (!JSON_START.test(text)) return false
  if (/"\$schema"\s*:\s*"[^"]*speedscope/.test(text)) return false
  if (/"nodes"\s*:\s*\[/.test(text) && /"callFrame"\s*:/.test(text)) return true
  if (/"head"\s*:\s*\{/.test(text) && /"functionName"\s*:/.test(text)) return true
  return /"name"\s*:\s*"(ProfileChunk|CpuProfile)"/.test(text)
}

// ---- speedscope ---------------------------------------------------------------------------------

export function sniffSpeedscope(_head: Buffer, text: string): boolean {
  if (!/^\s*\{/.test(text)) return false
  if (/"\$schema"\s*:\s*"[^"]*speedscope[^"]*"/.test(text)) return true
  return /"shared"\s*:\s*\{\s*"frames"\s*:/.test(text) && /"profiles"\s*:\s*\[/.test(text)
}

// ---- pprof --------------------------------------------------------------------------------------

export function sniffPprof(head: Uint8Array): boolean {
  return looksLikePprof(head) || isLegacyPprof(head)
}

/** Wire type each top-level Profile field must have (13 = comment may be packed or not). */
const PROFILE_WIRE: Record<number, number[]> = {
  1: [WIRE_LEN], 2: [WIRE_LEN], 3: [WIRE_LEN], 4: [WIRE_LEN], 5: [WIRE_LEN], 6: [WIRE_LEN],
  7: [WIRE_VARINT], 8: [WIRE_VARINT], 9: [WIRE_VARINT], 10: [WIRE_VARINT], 11: [WIRE_LEN],
  12: [WIRE_VARINT], 13: [WIRE_VARINT, WIRE_LEN], 14: [WIRE_VARINT], 15: [WIRE_LEN],
}

/** Pre-protobuf pprof formats that `go tool pprof` still reads (text heap/contention/thread, binary CPU). */
const LEGACY_TEXT = /^(--- ?(heapz|heap|contentionz|contention|threadz|thread|symbol)\b|heap profile:|heap_v2\/|[a-z]+ profile: total \d+)/

export function isLegacyPprof(head: Uint8Array): boolean {
  if (head.length >= 16) {
    // gperftools binary CPU profile: header words 0, 3 (header count), 0, period, 0 - 32 or 64 bit.
    const w32 = head[0] === 0 && head[1] === 0 && head[2] === 0 && head[3] === 0
    if (w32 && head[4] === 3 && head[5] === 0 && head[6] === 0 && head[7] === 0) return true
    if (w32 && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 3 && head[9] === 0) return true
  }
  const text = Buffer.from(head.subarray(0, 64)).toString('latin1')
  return LEGACY_TEXT.test(text)
}

/**
 * Wire types each field of a Profile sub-message may have, by top-level field: ValueType (1, 11),
 * Sample (2), Mapping (3), Location (4), Function (5). Strings (6) hold any bytes.
 */
const SUB_WIRE: Record<number, Record<number, number[]>> = {
  1: { 1: [WIRE_VARINT], 2: [WIRE_VARINT] },
  11: { 1: [WIRE_VARINT], 2: [WIRE_VARINT] },
  2: { 1: [WIRE_VARINT, WIRE_LEN], 2: [WIRE_VARINT, WIRE_LEN], 3: [WIRE_LEN] },
  3: { 1: [WIRE_VARINT], 2: [WIRE_VARINT], 3: [WIRE_VARINT], 4: [WIRE_VARINT], 5: [WIRE_VARINT], 6: [WIRE_VARINT], 7: [WIRE_VARINT], 8: [WIRE_VARINT], 9: [WIRE_VARINT], 10: [WIRE_VARINT] },
  4: { 1: [WIRE_VARINT], 2: [WIRE_VARINT], 3: [WIRE_VARINT], 4: [WIRE_LEN], 5: [WIRE_VARINT] },
  5: { 1: [WIRE_VARINT], 2: [WIRE_VARINT], 3: [WIRE_VARINT], 4: [WIRE_VARINT], 5: [WIRE_VARINT], 6: [WIRE_VARINT] },
}

/**
 * True when `head` parses as (the start of) a profile.proto message: every top-level field is a
 * Profile field of the right wire type, and every sub-message that fits in the head parses as the
 * message that field holds. Which field comes first does not matter (Go writes time_nanos
 * first); when the head is cut inside a field, at least one structured sub-message (a sample
 * type, sample, mapping, location or function) must have parsed whole.
 */
export function looksLikePprof(head: Uint8Array): boolean {
  if (head.length === 0) return false
  const r = new ProtoReader(head)
  let sawCore = false
  let structured = 0
  try {
    while (r.pos < head.length) {
      const key = r.varint()
      const field = Math.floor(key / 8)
      const wire = key & 7
      const ok = PROFILE_WIRE[field]
      if (!ok || !ok.includes(wire)) return false
      if (field === 1 || field === 2 || field === 6) sawCore = true
      if (wire === WIRE_LEN) {
        const len = r.varint()
        // Runs past the head: the rest of a big file, or a truncated one (parse then says so).
        if (r.pos + len > head.length) return structured > 0
        const schema = SUB_WIRE[field]
        if (schema) {
          if (!isMessage(head, r.pos, r.pos + len, schema)) return false
          structured++
        }
        r.pos += len
      } else {
        r.varint()
      }
    }
  } catch {
    // A varint cut by the end of the head: more content follows, or the file is truncated.
    return structured > 0
  }
  return sawCore
}

function isMessage(buf: Uint8Array, start: number, end: number, schema: Record<number, number[]>): boolean {
  const r = new ProtoReader(buf, start, end)
  try {
    while (r.next()) {
      if (!schema[r.field]?.includes(r.wire)) return false
      r.skip()
    }
    return true
  } catch {
    return false
  }
}

// ---- node --prof logs and their --prof-process JSON ---------------------------------------------

export function sniffV8Prof(_head: Buffer, text: string): boolean {
  return looksLikeJson(text) || looksLikeLog(text)
}

const LOG_HEAD = /^(v8-version,\d+,|shared-library,|code-creation,|profiler,)/
/** Node prints this on stdout before the JSON when the log's V8 is not its own. */
export const VERSION_NOTE = 'Testing v8 version different from logging version'

export function looksLikeJson(text: string): boolean {
  let t = text.trimStart()
  if (t.startsWith(VERSION_NOTE)) t = t.slice(VERSION_NOTE.length).trimStart()
  return /^\{\s*"code"\s*:\s*\[/.test(t)
}

export function looksLikeLog(text: string): boolean {
  return LOG_HEAD.test(text)
}

// ---- perf script --------------------------------------------------------------------------------

const FRAME_SHAPE = /^[ \t]*[0-9a-fA-F]+[ \t]+.+ \(.*\)[ \t\r]*$/

const TIMED_EVENT = /^\S.*?\s+\d+(?:\/\d+)?\s+(?:\[\d+\]\s+)?\d+\.\d+:\s/

function isPerlSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/** perf script text: an event line followed by a frame line, or timed event lines, or its header. */
export function sniffPerfScript(head: Buffer, text: string): boolean {
  let i = 0
  while (i < head.length && isPerlSpace(head[i]!)) i++
  if (i >= head.length) return false
  const c = head[i]!
  if (c === 0x7b /* { */ || c === 0x5b /* [ */ && !/^\[\d+\]/.test(text.slice(i))) return false
  const lines = text.split('\n')
  if (lines.length > 1 && !text.endsWith('\n')) lines.pop()
  let header = 0
  let pairs = 0
  let timed = 0
  let folded = 0
  const n = Math.min(lines.length, 400)
  for (let k = 0; k < n; k++) {
    const l = lines[k]!
    if (l.startsWith('# ========') || /^# (captured on|perf version|cmdline|hostname|event)\b/.test(l)) header++
    if (l === '' || l.startsWith('#')) continue
    if (ONE_LINE_SAMPLE.test(l) || PADDED_EVENT.test(l)) timed++
    else if (!isPerlSpace(l.charCodeAt(0)) && EVENT_RE.test(l)) {
      if (TIMED_EVENT.test(l)) timed++
      const next = lines[k + 1]
      if (next !== undefined && FRAME_SHAPE.test(next) && !EVENT_RE.test(next)) pairs++
    } else if (/^\S.*\s\d+$/.test(l) && l.includes(';')) folded++
  }
  if (folded > pairs + timed) return false
  return pairs > 0 || timed >= 2 || (header >= 3 && folded === 0)
}

// ---- folded stacks ------------------------------------------------------------------------------

export function sniffFolded(_head: Buffer, text: string): boolean {
  // Only look at complete lines; the last one may be cut by the head limit.
  const lines = text.split(/\r?\n/)
  if (lines.length > 1) lines.pop()
  else if (text.length >= 32 * 1024) {
    // One line longer than the head (a very deep stack): judge its start.
    const l = lines[0]!
    return !/^[\s{[<#]/.test(l) && !l.includes('\t') && l.includes(';') && !/\x00/.test(l)
  }
  let good = 0
  let bad = 0
  for (const l of lines.slice(0, 200)) {
    if (l.trim() === '' || l.startsWith('#') || l.startsWith('//')) continue
    if (l.startsWith('\t') || l.startsWith(' ')) return false
    if (looksFolded(l)) good++
    else bad++
  }
  // A few bad lines (inferno's and speedscope's test files have them) do not make it another format.
  return good > 0 && good >= bad * 2
}

const LINE = /^(.*?\S)\s+(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?:\s+(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))?\s*$/

function looksFolded(line: string): boolean {
  return splitFoldedLine(line) !== null && !/^\s/.test(line)
}

const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/
const ODD_BREAKS = /[\r\u2028\u2029]/

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)))
}

/**
 * [stack, count, second count] of a folded line, or null: the same split as the regex LINE (the
 * shortest stack, so two trailing numbers are two counts), found by scanning back from the end;
 * the lazy regex re-tried every position of a 700-character line and was most of the import.
 */
export function splitFoldedLine(line: string): [string, string, string | undefined] | null {
  if (ODD_BREAKS.test(line)) {
    // '.' in LINE stops at these: keep its verdict for such lines.
    const m = LINE.exec(line)
    return m ? [m[1]!, m[2]!, m[3]] : null
  }
  let e = line.length
  while (e > 0 && isSpace(line.charCodeAt(e - 1))) e--
  let s = e
  while (s > 0 && !isSpace(line.charCodeAt(s - 1))) s--
  const last = line.slice(s, e)
  if (s === 0 || !NUMBER.test(last)) return null
  let w = s
  while (w > 0 && isSpace(line.charCodeAt(w - 1))) w--
  if (w === 0) return null
  let s2 = w
  while (s2 > 0 && !isSpace(line.charCodeAt(s2 - 1))) s2--
  if (s2 > 0) {
    const prev = line.slice(s2, w)
    let w2 = s2
    while (w2 > 0 && isSpace(line.charCodeAt(w2 - 1))) w2--
    if (w2 > 0 && NUMBER.test(prev)) return [line.slice(0, w2), prev, last]
  }
  return [line.slice(0, w), last, undefined]
}
