// `meshprof fold` for perf script text: streaming, Buffer-based, and on large plain files split
// at sample boundaries across worker threads (one chunk per core; the main thread takes the first).
// Output is byte-identical to stackcollapse-perf.pl; see perf-core.ts for the line semantics and
// perf-stacks.ts for the unique stacks. Loads nothing of the model: `fold` starts fast.
import { closeSync, openSync, readSync, fstatSync, statSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { Readable } from 'node:stream'
import type { InputSource } from './source.js'
import type { PerfOptions } from './types.js'
import { idleCoresSinceStart } from '../util/cpu-idle.js'
import { EVENT_RE, MAX_LINE, ONE_LINE_SAMPLE, PADDED_EVENT, PERIOD_RE, PerfParser, latin1, type CoreOptions } from './perf-core.js'
import { FoldSink, mergePacked, renderPacked, transferables, type PackedStacks } from './perf-stacks.js'

/** Tuning knobs (tests and the bench use them; the CLI reads MESHPROF_PERF_THREADS / _SPLIT_MIN). */
export interface FoldTuning {
  /** Threads to use for a plain file (default: cores, at most 4, workers only for idle ones; env MESHPROF_PERF_THREADS). */
  threads?: number
  /** Smallest file split across threads, bytes (default 16 MiB; env MESHPROF_PERF_SPLIT_MIN). */
  splitMin?: number
  /** Read buffer size, bytes (default 4 MiB). */
  bufferSize?: number
  /** Work-queue chunk size, bytes (default 16 MiB; env MESHPROF_PERF_CHUNK). */
  chunkSize?: number
}

export interface FoldStats {
  lines: number
  samples: number
  uniqueStacks: number
  unrecognized: number
  firstUnrecognized?: string
  longLines: number
  /** The event type kept by the default filter, and the first one it dropped. */
  keptEvent?: string
  droppedEvent?: string
  threads: number
  /** Pieces the file was cut into (1 = not split). */
  chunks: number
  /** Chunks folded again on the main thread because a worker failed. */
  redone: number
}

export interface FoldResult {
  output: Buffer
  stats: FoldStats
}

/** What one chunk (main thread or worker) reports. */
export interface ChunkResult {
  stacks: PackedStacks
  firstEvent?: string
  droppedEvent?: string
  lines: number
  samples: number
  unrecognized: number
  firstUnrecognized?: string
  longLines: number
  preset: boolean
}

const DEFAULT_BUFFER = 1 << 20

/** Feeds a PerfParser from successive reads into one growable buffer; handles over-long lines. */
export class LineFeeder {
  buf: Buffer
  used = 0
  private skipping = false
  constructor(readonly parser: PerfParser, size = DEFAULT_BUFFER) {
    this.buf = Buffer.allocUnsafe(size)
  }

  /** Room to read into: buf[used, buf.length). */
  get room(): number {
    return this.buf.length - this.used
  }

  /** Append bytes (stream input). */
  write(chunk: Buffer): void {
    let off = 0
    while (off < chunk.length) {
      if (this.room === 0) this.process()
      const n = Math.min(this.room, chunk.length - off)
      chunk.copy(this.buf, this.used, off, off + n)
      this.used += n
      off += n
    }
  }

  /** Parse every complete line in the buffer; keep the incomplete tail at the front. */
  process(): void {
    let start = 0
    const view = this.buf.subarray(0, this.used)
    if (this.skipping) {
      const nl = view.indexOf(10)
      if (nl < 0) {
        this.used = 0
        return
      }
      this.skipping = false
      this.parser.skipLongLine()
      start = nl + 1
    }
    const pos = this.parser.feed(view, start, this.used)
    const rest = this.used - pos
    if (rest > MAX_LINE) {
      this.skipping = true
      this.used = 0
      return
    }
    if (pos > 0) this.buf.copy(this.buf, 0, pos, this.used)
    this.used = rest
    if (this.room < this.buf.length / 4) {
      const nb = Buffer.allocUnsafe(this.buf.length * 2)
      this.buf.copy(nb, 0, 0, this.used)
      this.buf = nb
    }
  }

  /** End of input: the last line without a newline, then perl's flush rule. */
  finish(flushLast: boolean): void {
    this.process()
    if (this.skipping) {
      this.parser.skipLongLine()
      this.parser.end(undefined, 0, 0, flushLast)
    } else {
      this.parser.end(this.buf, 0, this.used, flushLast)
    }
    this.used = 0
  }
}

function chunkResult(parser: PerfParser, sink: FoldSink, preset: boolean): ChunkResult {
  return { ...chunkStats(parser, preset), stacks: sink.pack(parser.pnames) }
}

function chunkStats(parser: PerfParser, preset: boolean): Omit<ChunkResult, 'stacks'> {
  return {
    firstEvent: parser.firstEvent,
    droppedEvent: parser.droppedEvent,
    lines: parser.lines,
    samples: parser.samples,
    unrecognized: parser.unrecognized,
    firstUnrecognized: parser.firstUnrecognized,
    longLines: parser.longLines,
    preset,
  }
}

/**
 * One thread's folder over chunks of a file. Chunks start and end right after a blank line, where
 * the parser's state is clean, so one parser can take any chunks in any order; only the last
 * chunk of the file applies the flush rule.
 */
export class ChunkFolder {
  readonly sink = new FoldSink()
  readonly parser: PerfParser
  private readonly feeder: LineFeeder
  readonly chunks: number[] = []
  constructor(opts: CoreOptions, preset: string | undefined, bufferSize = DEFAULT_BUFFER) {
    this.parser = new PerfParser(opts, this.sink, preset, this.sink.entries)
    this.feeder = new LineFeeder(this.parser, bufferSize)
  }

  /** Fold bytes [start, end); `last`: the range ends at EOF (apply the flush rule). */
  fold(fd: number, start: number, end: number, last: boolean, flushLast: boolean): void {
    const feeder = this.feeder
    let pos = start
    while (pos < end) {
      if (feeder.room === 0) feeder.process()
      const n = readSync(fd, feeder.buf, feeder.used, Math.min(feeder.room, end - pos), pos)
      if (n <= 0) break
      feeder.used += n
      pos += n
      feeder.process()
    }
    if (last) feeder.finish(flushLast)
    else feeder.process()
  }

  result(preset: boolean): ChunkResult {
    return chunkResult(this.parser, this.sink, preset)
  }

}

/** Fold bytes [start, end) of an open file with a fresh parser. */
export function foldFileRange(fd: number, start: number, end: number, opts: CoreOptions, preset: string | undefined, flushLast: boolean, bufferSize = DEFAULT_BUFFER): ChunkResult {
  const f = new ChunkFolder(opts, preset, bufferSize)
  f.fold(fd, start, end, true, flushLast)
  return f.result(preset !== undefined)
}

/** Fold a stream (stdin, gzip, in-memory). Single thread. */
export async function foldStream(stream: Readable | AsyncIterable<Buffer>, opts: CoreOptions, flushLast: boolean): Promise<ChunkResult> {
  const sink = new FoldSink()
  const parser = new PerfParser(opts, sink, undefined, sink.entries)
  const feeder = new LineFeeder(parser, 1 << 20)
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    feeder.write(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk)
    feeder.process()
  }
  feeder.finish(flushLast)
  return chunkResult(parser, sink, false)
}

/**
 * The event type perl's default filter picks: the event of the first line (not a comment) that
 * has the `comm pid ... period event:` shape. Looks at most `limit` bytes from the start.
 */
export function prescanFirstEvent(fd: number, limit: number): string | undefined {
  const size = Math.min(limit, 1 << 22)
  const buf = Buffer.allocUnsafe(size)
  const n = readSync(fd, buf, 0, size, 0)
  let pos = 0
  for (;;) {
    const nl = buf.indexOf(10, pos)
    if (nl < 0 || nl >= n) return undefined
    const c0 = buf[pos]!
    if (nl > pos && c0 !== 35 && c0 !== 32 && c0 !== 9 && c0 !== 13 && c0 !== 12 && c0 !== 11) {
      const str = latin1(buf, pos, nl)
      if (EVENT_RE.test(str)) {
        const pm = PERIOD_RE.exec(str)
        if (pm) return pm[2]
      }
    }
    pos = nl + 1
  }
}

/**
 * Where the chunks of the shared queue should end: n equal chunks, the last `threads` of them cut
 * in four (when there are more chunks than threads), so that no thread starts a big chunk when
 * the others are about to run dry: the main thread waits at most for a small last piece.
 */
export function chunkTargets(size: number, n: number, threads: number): number[] {
  const out: number[] = []
  for (let i = 1; i < n; i++) out.push(Math.floor((size * i) / n))
  if (n <= threads) return out
  const tailFrom = n - threads
  const tail: number[] = []
  for (let i = tailFrom; i < n; i++) {
    const a = Math.floor((size * i) / n)
    const b = Math.floor((size * (i + 1)) / n)
    for (let q = 1; q < 4; q++) tail.push(a + Math.floor(((b - a) * q) / 4))
    if (i + 1 < n) tail.push(b)
  }
  return [...out.slice(0, tailFrom), ...tail]
}

/** Offsets just after a "\n\n" at or after each target (ascending), so each chunk starts with a clean parser state. */
export function findSplits(fd: number, size: number, targets: readonly number[]): number[] {
  const out: number[] = [0]
  // A blank line is usually a few KB away: small reads, not 1 MiB at every target.
  const win = Buffer.allocUnsafe(64 << 10)
  for (let i = 0; i < targets.length; i++) {
    let pos = Math.max(targets[i]!, out[out.length - 1]!)
    const limit = i + 1 < targets.length ? targets[i + 1]! : size
    let found = -1
    while (pos < limit && found < 0) {
      const got = readSync(fd, win, 0, win.length, pos)
      if (got <= 0) break
      const k = win.subarray(0, got).indexOf('\n\n', 0, 'latin1')
      if (k >= 0) found = pos + k + 2
      else if (got < 2 || pos + got >= size) break
      else pos += got - 1
    }
    if (found > out[out.length - 1]! && found < size) out.push(found)
  }
  out.push(size)
  return out
}

function envInt(name: string): number | undefined {
  const v = process.env[name]
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined
}

/**
 * Cores, at most 4, but a worker only for a core that sat idle: on this input a worker costs
 * ~0.2 s CPU (its start-up, JIT warm-up, tidying every distinct line again, the hand-over), which
 * only pays when it runs beside the main thread rather than taking turns with it.
 */
function defaultThreads(): number {
  const c = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length
  const max = Math.max(1, Math.min(4, c))
  const idle = idleCoresSinceStart(c)
  return idle === undefined ? max : Math.max(1, Math.min(max, 1 + Math.floor(idle + 0.25)))
}

/** Chunk size for the shared work queue (threads take the next chunk when they are free). */
const CHUNK = 16 << 20

/** What a worker posts back: its stacks (typed arrays moved, not copied) and the chunks it folded. */
export type WorkerResult = ChunkResult & { chunks: number[] }

interface WorkerReply {
  ok: boolean
  result?: WorkerResult
  error?: string
}

function startWorker(path: string, bounds: number[], counter: SharedArrayBuffer, opts: CoreOptions, flushLast: boolean): { worker: Worker; promise: Promise<(ChunkResult & { chunks: number[] }) | undefined> } {
  const worker = new Worker(new URL('./perf-fold-worker.js', import.meta.url), {
    workerData: { path, bounds, counter, opts, flushLast },
    // The worker's young generation is the bulk of its memory: a small one keeps peak RSS flat.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
    stdout: false,
    stderr: false,
  })
  const promise = new Promise<(ChunkResult & { chunks: number[] }) | undefined>((resolve) => {
    // Any failure resolves to undefined: the chunks it did not report are folded again here.
    worker.once('message', (m: WorkerReply) => resolve(m.ok && m.result ? m.result : undefined))
    worker.once('error', () => resolve(undefined))
    worker.once('exit', () => resolve(undefined))
  })
  return { worker, promise }
}

/**
 * Fold a plain file. Large files are cut into ~16 MiB chunks at sample boundaries; the main
 * thread and `threads - 1` workers take chunks from a shared counter until none is left, so a
 * thread that gets less CPU simply takes fewer chunks. Workers start once the default event type
 * is known (perl keeps the FIRST event type of the file): from a pre-scan of the first 4 MiB, or
 * else from the main thread's first chunks, folded in order until it has seen one.
 */
export async function foldFile(path: string, opts: CoreOptions, flushLast: boolean, tuning: FoldTuning = {}): Promise<{ results: ChunkResult[]; threads: number; redone: number; chunks: number }> {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const threads = Math.max(1, tuning.threads ?? envInt('MESHPROF_PERF_THREADS') ?? defaultThreads())
    const splitMin = tuning.splitMin ?? envInt('MESHPROF_PERF_SPLIT_MIN') ?? 16 << 20
    const chunkSize = Math.max(1, tuning.chunkSize ?? envInt('MESHPROF_PERF_CHUNK') ?? CHUNK)
    const bounds = threads > 1 && size >= splitMin ? findSplits(fd, size, chunkTargets(size, Math.max(threads, Math.ceil(size / chunkSize)), threads)) : [0, size]
    const n = bounds.length - 1
    if (n <= 1 || threads <= 1) {
      const one = new ChunkFolder(opts, undefined, tuning.bufferSize)
      one.fold(fd, 0, size, true, flushLast)
      return { results: [one.result(false)], threads: 1, redone: 0, chunks: 1 }
    }
    const counter = new SharedArrayBuffer(4)
    const next = new Int32Array(counter)
    let preset: string | undefined = opts.eventFilter ? undefined : prescanFirstEvent(fd, bounds[1]!)
    const workers: ReturnType<typeof startWorker>[] = []
    const launch = (filter: string | undefined) => {
      for (let w = 1; w < threads && w < n; w++) {
        const h = startWorker(path, bounds, counter, opts, flushLast)
        h.worker.postMessage({ preset: filter })
        workers.push(h)
      }
    }
    try {
      if (opts.eventFilter || preset !== undefined) launch(preset)
      const main = new ChunkFolder(opts, preset, tuning.bufferSize)
      for (;;) {
        const i = Atomics.add(next, 0, 1)
        if (i >= n) break
        main.fold(fd, bounds[i]!, bounds[i + 1]!, i === n - 1, flushLast)
        main.chunks.push(i)
        if (workers.length === 0 && main.parser.eventFilter !== '') {
          preset = main.parser.eventFilter
          launch(preset)
        }
      }
      const results: ChunkResult[] = [main.result(preset !== undefined)]
      const done = new Set(main.chunks)
      for (const w of workers) {
        const r = await w.promise
        if (!r) continue
        results.push(r)
        for (const c of r.chunks) done.add(c)
      }
      // Chunks a failed worker had taken: fold them here.
      let redone = 0
      for (let i = 0; i < n; i++) {
        if (done.has(i)) continue
        const again = new ChunkFolder(opts, preset, tuning.bufferSize)
        again.fold(fd, bounds[i]!, bounds[i + 1]!, i === n - 1, flushLast)
        results.push(again.result(true))
        redone++
      }
      return { results, threads: 1 + workers.length, redone, chunks: n }
    } finally {
      // Wait until the workers' heaps are gone: the merge that follows is the peak of memory.
      await Promise.all(workers.map((w) => w.worker.terminate().catch(() => 0)))
    }
  } finally {
    closeSync(fd)
  }
}

/** Merge chunk results into perl's output and stats. */
export function finishFold(results: ChunkResult[], threads: number, redone = 0, chunks = results.length): FoldResult {
  const { output, lines: uniqueStacks } = renderPacked(mergePacked(results.map((r) => r.stacks)))
  let keptEvent: string | undefined
  let droppedEvent: string | undefined
  for (const r of results) {
    keptEvent ??= r.firstEvent
    droppedEvent ??= r.droppedEvent
  }
  return {
    output,
    stats: {
      lines: results.reduce((a, r) => a + r.lines, 0),
      samples: results.reduce((a, r) => a + r.samples, 0),
      uniqueStacks,
      unrecognized: results.reduce((a, r) => a + r.unrecognized, 0),
      firstUnrecognized: results.find((r) => r.firstUnrecognized !== undefined)?.firstUnrecognized,
      longLines: results.reduce((a, r) => a + r.longLines, 0),
      keptEvent,
      droppedEvent,
      threads,
      chunks,
      redone,
    },
  }
}

// ---- The front end: any input source -> perl's output ----------------------------------------

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
