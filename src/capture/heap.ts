// `capture --heap`: memory and handles over the window.
// - ProbeHeap collects what the in-target probe sends (agent/probe.cjs): live bytes per allocation
//   site from V8's sampling heap profiler at about ten points of the window, active handles by type
//   and the used heap every second, v8.getHeapStatistics() at the start and the end.
// - ProcMemorySampler reads RSS, open fds and threads of any pid from /proc every second (native
//   targets too: perf has no heap, /proc still tells whether the process grows).
// - heapPprof writes the last point as pprof (inuse_objects, inuse_space; inuse_space the default,
//   as in Go heap profiles), which `go tool pprof` reads; growthEvidence is what the capture file keeps.
import { readFileSync, readdirSync } from 'node:fs'
import type { Frame, GrowthEvidence, GrowthSeries, HeapSite } from '../model/types.js'
import { ProfileBuilder } from '../model/builder.js'
import { frameOf } from '../formats/cpuprofile.js'
import { toPprof } from '../formats/pprof-export.js'

/** [function, url, line (0-based), column (0-based)], as the inspector's callFrame. */
export type HeapFrame = [string, string, number, number]

/** Sites kept in the capture file (the heaviest at the end of the window, and the fastest growing). */
const MAX_SITES = 100

function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0
}

export class ProbeHeap {
  readonly sites = new Map<number, HeapFrame[]>()
  /** Per point: time and [site id, live bytes, live objects]. */
  readonly points: Array<{ t: number; s: Array<[number, number, number]> }> = []
  readonly stats: { start?: Record<string, number>; end?: Record<string, number> } = {}
  /** Per second: active handles by type and V8's used heap. */
  readonly ticks: Array<{ t: number; handles: Record<string, number>; used?: number }> = []

  get active(): boolean {
    return this.points.length > 0 || this.ticks.length > 0
  }

  onSnap(m: Record<string, unknown>): void {
    const h = m.h
    if (typeof h !== 'object' || h === null) return
    const handles: Record<string, number> = {}
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) handles[k] = num(v)
    this.ticks.push({ t: num(m.t), handles, ...(typeof m.u === 'number' ? { used: m.u } : {}) })
  }

  onLine(m: Record<string, unknown>): void {
    if (m.k === 'hsite' && Array.isArray(m.f)) {
      this.sites.set(num(m.id), (m.f as unknown[]).map((f) => {
        const a = Array.isArray(f) ? f : []
        return [String(a[0] ?? ''), String(a[1] ?? ''), num(a[2]), num(a[3])]
      }))
    } else if (m.k === 'hpoint' && Array.isArray(m.s)) {
      const s = (m.s as unknown[]).filter(Array.isArray).map((e) => [num((e as unknown[])[0]), num((e as unknown[])[1]), num((e as unknown[])[2])] as [number, number, number])
      this.points.push({ t: num(m.t), s })
    } else if (m.k === 'hstats' && (m.which === 'start' || m.which === 'end') && typeof m.s === 'object' && m.s !== null) {
      const s: Record<string, number> = {}
      for (const [k, v] of Object.entries(m.s as Record<string, unknown>)) if (typeof v === 'number') s[k] = v
      this.stats[m.which] = s
    }
  }
}

/** A V8 frame as the model names it (same rules as the .cpuprofile importer). */
function modelFrame(f: HeapFrame): Frame {
  return frameOf({ functionName: f[0], url: f[1], lineNumber: f[2], columnNumber: f[3] }) ?? { name: f[0] || '(anonymous)', kind: 'native' }
}

/** `function file:line`, the key of a site across captures and its display form. */
export function heapFrameLabel(f: HeapFrame): string {
  const m = modelFrame(f)
  return m.file ? `${m.name} ${m.file.replace(/^file:\/\//, '')}:${m.line ?? 0}` : m.name
}

/** The last heap point as gzipped pprof: inuse_objects (count), inuse_space (bytes, the default). */
export function heapPprof(heap: ProbeHeap, meta: { name: string; pid: number; startTimeNs: number; durationNs: number }): Buffer | undefined {
  const last = heap.points[heap.points.length - 1]
  if (!last) return undefined
  const b = new ProfileBuilder([{ type: 'inuse_objects', unit: 'count' }, { type: 'inuse_space', unit: 'bytes' }], {
    name: meta.name, pid: meta.pid, startTimeNs: meta.startTimeNs, durationNs: meta.durationNs, sourceFormat: 'heap',
  })
  b.defaultValue = 1
  for (const [id, bytes, count] of last.s) {
    const frames = heap.sites.get(id)
    if (!frames) continue
    b.addSample(b.stackFromFrames(frames.map((f) => b.internFrame(modelFrame(f)))), [Math.round(count), bytes])
  }
  return toPprof(b.build())
}

/** What the capture file keeps: series of handles, used heap and /proc figures, and the main sites. */
export function growthEvidence(heap: ProbeHeap | undefined, proc: ProcMemorySampler | undefined, windowMs: number): GrowthEvidence | undefined {
  const series: GrowthSeries[] = []
  if (heap && heap.ticks.length) {
    const types = new Set<string>()
    for (const tk of heap.ticks) for (const k of Object.keys(tk.handles)) types.add(k)
    for (const type of [...types].sort()) series.push({ name: `handles.${type}`, unit: 'count', points: heap.ticks.map((tk) => [tk.t, tk.handles[type] ?? 0] as const) })
    const used = heap.ticks.filter((tk) => tk.used !== undefined)
    if (used.length) series.push({ name: 'heap.used', unit: 'bytes', points: used.map((tk) => [tk.t, tk.used!] as const) })
  }
  if (proc) series.push(...proc.series())
  let sites: HeapSite[] | undefined
  if (heap && heap.points.length) {
    const ids = new Set<number>()
    for (const p of heap.points) for (const [id] of p.s) ids.add(id)
    const all = [...ids].map((id) => {
      const points = heap.points.map((p) => [p.t, p.s.find((e) => e[0] === id)?.[1] ?? 0] as const)
      return { id, points, last: points[points.length - 1]![1] }
    })
    all.sort((a, b) => b.last - a.last || a.id - b.id)
    sites = all.slice(0, MAX_SITES).filter((s) => s.last > 0 && heap.sites.has(s.id)).map((s) => ({ frames: heap.sites.get(s.id)!.map(heapFrameLabel), points: s.points }))
  }
  if (!series.length && !sites) return undefined
  return {
    windowMs,
    series,
    ...(sites ? { sites } : {}),
    ...(heap && (heap.stats.start || heap.stats.end) ? { heapStats: { ...heap.stats } } : {}),
  }
}

/** RSS, open fds and threads of a pid from /proc; undefined when it is gone or not ours. */
export function procMemory(pid: number): { rss: number; fds: number; threads: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
    const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
    const fds = readdirSync(`/proc/${pid}/fd`).length
    if (!Number.isFinite(rssKb) || !Number.isFinite(threads)) return undefined
    return { rss: rssKb * 1024, fds, threads }
  } catch {
    return undefined
  }
}

/** /proc figures of the target every second of the window. */
export class ProcMemorySampler {
  private timer?: NodeJS.Timeout
  private t0 = 0
  readonly points: Array<[number, { rss: number; fds: number; threads: number }]> = []

  constructor(readonly pid: number, private everyMs = 1000) {}

  start(): void {
    this.t0 = performance.now()
    this.sample()
    this.timer = setInterval(() => this.sample(), this.everyMs)
    this.timer.unref()
  }

  private sample(): void {
    const m = procMemory(this.pid)
    if (m) this.points.push([Math.round((performance.now() - this.t0) * 1000) / 1000, m])
  }

  stop(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    this.sample()
  }

  series(): GrowthSeries[] {
    if (!this.points.length) return []
    return (['rss', 'fds', 'threads'] as const).map((k) => ({ name: k, unit: k === 'rss' ? 'bytes' : 'count', points: this.points.map(([t, m]) => [t, m[k]] as const) }))
  }
}
