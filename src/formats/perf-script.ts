// Linux `perf script` text: detection, the streaming importer into the profile model, and the
// folder behind `meshprof fold` (byte-identical to FlameGraph's stackcollapse-perf.pl; see
// perf-core.ts for the line semantics and perf-fold.ts for the threaded file reader).
import { statSync } from 'node:fs'
import { basename } from 'node:path'
import { ProfileBuilder } from '../model/builder.js'
import type { FrameKind, Profile, ValueType } from '../model/types.js'
import { MalformedInputError } from '../util/errors.js'
import type { InputSource } from './source.js'
import type { Importer, ImportOptions, PerfOptions } from './types.js'
import { EVENT_RE, PerfParser, tidyFrames, type CoreOptions, type Entry } from './perf-core.js'
import { LineFeeder, finishFold, foldFile, foldStream, type FoldResult, type FoldTuning } from './perf-fold.js'
import { demangle, looksMangled } from './demangle.js'

export type { FoldResult, FoldTuning } from './perf-fold.js'

/** PerfOptions -> the line machine's options (`--all` = `--kernel --jit`, as in perl). */
export function coreOptions(o: PerfOptions): CoreOptions {
  return {
    pid: Boolean(o.pid),
    tid: Boolean(o.tid),
    kernel: Boolean(o.kernel || o.all),
    jit: Boolean(o.jit || o.all),
    addrs: Boolean(o.addrs),
    eventFilter: o.eventFilter ?? '',
  }
}

export interface FoldHooks {
  /** Non-fatal notes (several event types, unrecognized lines). */
  warn?: (message: string) => void
  tuning?: FoldTuning
}

/**
 * Fold perf script text exactly like stackcollapse-perf.pl, streaming; returns the output bytes
 * (byte-exact, also for input that is not valid UTF-8) and counts.
 */
export async function foldPerfScript(input: InputSource, opts: PerfOptions, hooks: FoldHooks = {}): Promise<FoldResult> {
  const core = coreOptions(opts)
  const flushLast = !opts.dropUnterminatedLast
  let res: FoldResult
  if (hasOneLineSamples(input.head.toString('latin1'))) {
    res = finishFold([await foldStream(adaptOneLineSamples(input.stream()), core, flushLast)], 1)
  } else if (input.path !== undefined && !input.gzipped && isRegularFile(input.path)) {
    const { results, threads, redone, chunks } = await foldFile(input.path, core, flushLast, hooks.tuning)
    res = finishFold(results, threads, redone, chunks)
  } else {
    res = finishFold([await foldStream(input.stream(), core, flushLast)], 1)
  }
  reportFoldNotes(input.name, res, hooks.warn)
  return res
}

/** Only regular files are read by offset (and split across threads); pipes and devices stream. */
function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

function reportFoldNotes(name: string, res: FoldResult, warn?: (m: string) => void): void {
  if (!warn) return
  const s = res.stats
  if (s.droppedEvent !== undefined) {
    warn(`${name}: several event types; kept only '${s.keptEvent}' (the first seen, like stackcollapse-perf.pl) and dropped '${s.droppedEvent}'; choose one with --event-filter`)
  }
  if (s.unrecognized > 0) {
    const first = s.firstUnrecognized !== undefined ? `, first: ${JSON.stringify(s.firstUnrecognized.trim().slice(0, 80))}` : ''
    warn(`${name}: ${s.unrecognized} line(s) not recognized as perf script output were skipped${first}`)
  }
  if (s.longLines > 0) warn(`${name}: ${s.longLines} line(s) longer than 64 MiB were skipped`)
}

/** Fold perf script text exactly like stackcollapse-perf.pl, streaming. */
export async function foldPerfScriptToString(input: InputSource, opts: PerfOptions): Promise<string> {
  return (await foldPerfScript(input, opts)).output.toString('utf8')
}

// ---- Detection -------------------------------------------------------------------------------

const FRAME_SHAPE = /^[ \t]*[0-9a-fA-F]+[ \t]+.+ \(.*\)[ \t\r]*$/
/**
 * A sample of a recording made without -g: `comm pid [cpu] time: [period] event: addr sym (dso)` on
 * one line. perf pads `comm` to 16 columns in that mode, so the line may start with blanks.
 */
const ONE_LINE_SAMPLE = /^[ \t]*(\S.*?[ \t]+\d+(?:\/\d+)?[ \t]+(?:\[\d+\][ \t]+)?\d+\.\d+:[ \t]+(?:\d+[ \t]+)?\S+:)[ \t]+([0-9a-fA-F]+[ \t]+.* \(.*\))[ \t\r]*$/
/** An event line with perf's comm padding (no -g; or a sample whose call chain is empty). */
const PADDED_EVENT = /^[ \t]+(\S.*?[ \t]+\d+(?:\/\d+)?[ \t]+(?:\[\d+\][ \t]+)?\d+\.\d+:[ \t]+(?:\d+[ \t]+)?\S+:)[ \t\r]*$/

/** True when perf script text has samples on one line or padded event lines (see adaptOneLineSamples). */
export function hasOneLineSamples(text: string): boolean {
  const lines = text.split('\n', 400)
  let n = 0
  for (const l of lines) if (ONE_LINE_SAMPLE.test(l) || PADDED_EVENT.test(l)) n++
  return n >= 1
}

/**
 * perf script of a recording without call chains, as the two-line form the folder reads: each
 * `comm pid time: period event: addr sym (dso)` becomes the event line, one frame line and a blank
 * line, as `perf script` prints a sample with a one-frame call chain; perf's padding before `comm`
 * is dropped. Other lines pass through unchanged (bytes, latin1 both ways).
 */
export async function* adaptOneLineSamples(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let rest = ''
  const convert = (text: string): string => {
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!
      const c = l.charCodeAt(0)
      // Frame lines of a -g recording start with a tab; only lines that may be events are tested.
      if (c === 9 || l === '' || c === 35) continue
      const m = ONE_LINE_SAMPLE.exec(l)
      if (m) lines[i] = `${m[1]} \n\t${m[2]}\n`
      else if (c === 32) {
        const e = PADDED_EVENT.exec(l)
        if (e) lines[i] = `${e[1]} \n`
      }
    }
    return lines.join('\n')
  }
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'))
    const nl = text.lastIndexOf('\n')
    if (nl < 0) {
      rest = text
      continue
    }
    rest = text.slice(nl + 1)
    yield Buffer.from(convert(text.slice(0, nl + 1)), 'latin1')
  }
  if (rest !== '') yield Buffer.from(convert(rest), 'latin1')
}
const TIMED_EVENT = /^\S.*?\s+\d+(?:\/\d+)?\s+(?:\[\d+\]\s+)?\d+\.\d+:\s/

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/** perf script text: an event line followed by a frame line, or timed event lines, or its header. */
export function sniffPerfScript(head: Buffer, text: string): boolean {
  let i = 0
  while (i < head.length && isSpace(head[i]!)) i++
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
    else if (!isSpace(l.charCodeAt(0)) && EVENT_RE.test(l)) {
      if (TIMED_EVENT.test(l)) timed++
      const next = lines[k + 1]
      if (next !== undefined && FRAME_SHAPE.test(next) && !EVENT_RE.test(next)) pairs++
    } else if (/^\S.*\s\d+$/.test(l) && l.includes(';')) folded++
  }
  if (folded > pairs + timed) return false
  return pairs > 0 || timed >= 2 || (header >= 3 && folded === 0)
}

// ---- Import into the model --------------------------------------------------------------------

function frameKind(mod: string, name: string): FrameKind {
  if (/(^\[|vmlinux$)/.test(mod) && !mod.includes('unknown')) return 'kernel'
  if (/\/tmp\/perf-\d+\.map/.test(mod) || /jitted-\d+-\d+\.so$/.test(mod)) return 'js'
  if (/^(LazyCompile|JS|Function|InterpretedFunction|Builtin|Stub|BytecodeHandler):/.test(name)) return 'js'
  return 'native'
}

function moduleOf(mod: string): string | undefined {
  if (mod === '' || mod === '[unknown]') return undefined
  if (mod.startsWith('[') && mod.endsWith(']')) return mod.slice(1, -1)
  return basename(mod)
}

interface PendingEvent {
  comm: string
  pid: string
  tid: string
  timeNs?: number
  event?: string
}

/** Builds the model while the parser streams: frames keep kind and module, samples keep times. */
class ModelSink {
  entries: Entry[] = []
  parser!: PerfParser
  private b: ProfileBuilder | undefined
  private framesOfEntry: (number[] | undefined)[] = []
  private pnameFrame = new Map<number, number>()
  private ev: PendingEvent | undefined
  private t0: number | undefined
  private tLast: number | undefined
  private hasPeriod = false
  private periodCounts = new Map<number, number>()
  readonly comms = new Set<string>()
  readonly pids = new Set<string>()
  event: string | undefined
  samples = 0
  frameOrder: number[] = []

  constructor(private readonly core: CoreOptions, private readonly demangleNames: boolean, private readonly name: string) {}

  onEvent(comm: string, pid: string, tid: string, event: string | undefined, timeNs: number | undefined, period: number | bigint, hadPeriod: boolean): void {
    this.ev = { comm, pid, tid, timeNs, event }
    if (!this.b) {
      // Two columns while reading (samples, perl's weight); the second is named or dropped at the end.
      this.b = new ProfileBuilder([{ type: 'samples', unit: 'count' }, { type: 'weight', unit: 'count' }], { name: this.name, sourceFormat: 'perf-script' }, true)
    }
    if (this.event === undefined && event !== undefined) this.event = event
    if (hadPeriod) {
      this.hasPeriod = true
      const p = Number(period)
      if (this.periodCounts.size < 10000 || this.periodCounts.has(p)) this.periodCounts.set(p, (this.periodCounts.get(p) ?? 0) + 1)
    }
  }

  private frames(entry: number): number[] {
    let f = this.framesOfEntry[entry]
    if (f !== undefined) return f
    const e = this.entries[entry]!
    let funcs = e.funcs
    if (this.demangleNames && e.pc === undefined && (looksMangled(e.raw) || e.raw.includes('::h') || /\$(LT|GT|u[0-9a-f]+)\$/.test(e.raw))) {
      const parts = e.raw.split('->').map((p) => demangle(p))
      funcs = tidyFrames(parts.join('->'), e.mod, '', e.java, this.core) ?? e.funcs
      if (funcs.length === 0) funcs = e.funcs
    }
    const module = moduleOf(e.mod)
    f = funcs.map((name) => {
      const kind = frameKind(e.mod, name)
      return this.b!.internFrame(module === undefined ? { name, kind } : { name, kind, module })
    })
    this.framesOfEntry[entry] = f
    return f
  }

  sample(pname: number, entries: Int32Array, len: number, period: number | bigint): void {
    const b = this.b
    if (!b) return
    this.samples++
    let root = this.pnameFrame.get(pname)
    if (root === undefined) {
      root = b.internFrame({ name: this.parser.pnames[pname]!, kind: 'program' })
      this.pnameFrame.set(pname, root)
    }
    let s = b.stackOf(-1, root)
    for (let i = len - 1; i >= 0; i--) for (const f of this.frames(entries[i]!)) s = b.stackOf(s, f)
    const ev = this.ev
    if (ev) {
      this.comms.add(ev.comm)
      this.pids.add(ev.pid === '?' ? ev.tid : ev.pid)
    }
    let t: number | undefined
    if (ev?.timeNs !== undefined) {
      this.t0 ??= ev.timeNs
      this.tLast = ev.timeNs
      t = Math.max(0, ev.timeNs - this.t0)
    }
    b.addSample(s, [1, Number(period)], t)
  }

  build(extra: Record<string, unknown>): Profile | undefined {
    const b = this.b
    if (!b || this.samples === 0) return undefined
    const meta = b.meta
    if (this.comms.size === 1) meta.name = [...this.comms][0]
    if (this.pids.size === 1) {
      const pid = Number([...this.pids][0])
      if (Number.isInteger(pid) && pid > 0) meta.pid = pid
    }
    if (this.t0 !== undefined && this.tLast !== undefined) meta.durationNs = Math.max(0, this.tLast - this.t0)
    const cpuClock = /^(cpu-clock|task-clock)/.test(this.event ?? '')
    if (this.hasPeriod && cpuClock) {
      let best = 0
      let bestN = 0
      for (const [p, n] of this.periodCounts) if (n > bestN) { best = p; bestN = n }
      if (best > 0) meta.periodNs = best
    }
    meta.extra = { ...(meta.extra ?? {}), ...(this.event !== undefined ? { event: this.event } : {}), ...extra }
    const p = b.build()
    if (!this.hasPeriod) {
      // No periods anywhere: the weight column equals the sample count; keep one column.
      return { ...p, values: [p.values[0]!], valueTypes: [p.valueTypes[0]!], defaultValue: 0 }
    }
    const weight: ValueType = cpuClock ? { type: 'cpu', unit: 'nanoseconds' } : { type: (this.event ?? 'events').replace(/:.*$/, ''), unit: 'count' }
    return { ...p, valueTypes: [p.valueTypes[0]!, weight], defaultValue: 1 }
  }
}

/** Streaming parse of perf script text into one Profile (null when it holds no sample). */
export async function parsePerfScript(input: InputSource, options: ImportOptions = {}): Promise<Profile | undefined> {
  const perf = options.perf ?? {}
  const core = coreOptions(perf)
  const sink = new ModelSink(core, perf.demangle !== false, basename(input.name))
  const parser = new PerfParser(core, {
    wantsEvents: true,
    sample: (p, e, l, per) => sink.sample(p, e, l, per),
    event: (_line, comm, pid, tid, event, t, period) => sink.onEvent(comm, pid, tid, event, t, period, periodSeen(_line)),
  }, undefined, sink.entries)
  sink.parser = parser
  const feeder = new LineFeeder(parser, 1 << 20)
  const raw = input.stream() as AsyncIterable<Buffer | string>
  for await (const chunk of hasOneLineSamples(input.head.toString('latin1')) ? adaptOneLineSamples(raw) : raw) {
    feeder.write(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk)
    feeder.process()
  }
  feeder.finish(!perf.dropUnterminatedLast)
  const warn = options.warn
  if (warn) {
    if (parser.droppedEvent !== undefined) warn(`${input.name}: several event types; kept only '${parser.firstEvent}' (the first seen) and dropped '${parser.droppedEvent}'`)
    if (parser.unrecognized > 0) warn(`${input.name}: ${parser.unrecognized} line(s) not recognized as perf script output were skipped`)
  }
  const head = input.head.toString('latin1')
  const cmd = /^# cmdline : (.*)$/m.exec(head)?.[1]?.trim()
  const ver = /^# perf version : (.*)$/m.exec(head)?.[1]?.trim()
  const p = sink.build({ ...(ver ? { perfVersion: ver } : {}), ...(parser.droppedEvent ? { droppedEvent: parser.droppedEvent } : {}) })
  if (p && cmd) p.meta.command = cmd
  return p
}

/** Whether an event line carried a numeric period (`...: 10101010 cpu-clock:`). */
function periodSeen(line: string): boolean {
  return /:[ \t\n\r\f\v]*\d+[ \t\n\r\f\v]+[^ \t\n\r\f\v]+:[ \t\n\r\f\v]*$/.test(line)
}

export const perfScriptImporter: Importer = {
  id: 'perf-script',
  title: 'Linux perf script text',
  sniff(head, text) {
    try {
      return sniffPerfScript(head, text)
    } catch {
      return false
    }
  },
  async parse(input, options) {
    const p = await parsePerfScript(input, options)
    if (!p) throw new MalformedInputError('perf-script', `${input.name}: no samples (no "comm pid ... event:" lines followed by stack lines)`)
    return [p]
  },
}
