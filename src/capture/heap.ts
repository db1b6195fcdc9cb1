// `capture --heap`: memory and handles over the window.
// - ProbeHeap (heap-probe.ts) collects what the in-target probe sends.
// - ProcMemorySampler (procmem.ts) reads RSS, open fds and threads of any pid from /proc.
// - heapPprof writes the last point as pprof (inuse_objects, inuse_space; inuse_space the default,
//   as in Go heap profiles), which `go tool pprof` reads; growthEvidence is what the capture file keeps.
import type { Frame, GrowthEvidence, GrowthSeries, HeapSite } from '../model/types.js'
import type { ProcMemorySampler } from './procmem.js'
import type { ProbeHeap, HeapFrame } from './heap-probe.js'
import { ProfileBuilder } from '../model/builder.js'
import { frameOf } from '../formats/cpuprofile.js'
import { toPprof } from '../formats/pprof-export.js'

/** Sites kept in the capture file (the heaviest at the end of the window, and the fastest growing). */
const MAX_SITES = 100

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
