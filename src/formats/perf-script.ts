// Linux `perf script` text into the profile model (streaming). Detection is detect.ts; the folder
// behind `meshprof fold` (byte-identical to FlameGraph's stackcollapse-perf.pl) is perf-fold.ts,
// on the same line machine (perf-core.ts).
import { basename } from 'node:path'
import { ProfileBuilder } from '../model/builder.js'
import type { FrameKind, Profile, ValueType } from '../model/types.js'
import { MalformedInputError } from '../util/errors.js'
import type { InputSource } from './source.js'
import type { Importer, ImportOptions, PerfOptions } from './types.js'
import { EVENT_RE, PerfParser, tidyFrames, type CoreOptions, type Entry } from './perf-core.js'
import { LineFeeder, adaptOneLineSamples, coreOptions, hasOneLineSamples } from './perf-fold.js'
import { sniffPerfScript } from './detect.js'
import { demangle, looksMangled } from './demangle.js'

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
  sniff: sniffPerfScript,
  async parse(input, options) {
    const p = await parsePerfScript(input, options)
    if (!p) throw new MalformedInputError('perf-script', `${input.name}: no samples (no "comm pid ... event:" lines followed by stack lines)`)
    return [p]
  },
}
