// `meshprof diff <before> <after> --heap`: what retained memory grew, by allocation site.
// Each side's heap profiles (node-<pid>.heap.pb.gz, written by `capture --heap`) hold the live heap
// the sampling profiler saw at the end of the window, by allocation stack: what was allocated in the
// window and is still reachable. A site holding more after than before retains more per window (a
// leak that got worse, or a new one); a site that drops to nothing was fixed. Sites are compared by
// their innermost application frame and its caller (function, file, line), summed over the processes of a side, next to the
// process figures: V8 used heap and RSS at the end of the window, and active handles by type.
import { loadProfiles, type LoadOptions } from '../formats/index.js'
import { stackFrames } from '../model/builder.js'
import type { Profile } from '../model/types.js'
import { EXIT, MeshprofError } from '../util/errors.js'
import { loadDiffInput } from './inputs.js'

/**
 * A site: the innermost frame of the application (a script that is not `node:` internals) and its
 * caller, so the sampling's scatter over library internals below it falls into one row; stacks with
 * no application frame keep their two innermost frames.
 */
function siteOf(p: Profile, stack: number): string[] {
  const fs = stackFrames(p, stack)
  let app = -1
  for (let i = fs.length - 1; i >= 0 && app < 0; i--) {
    const file = p.frames[fs[i]!]!.file
    if (file && !file.startsWith('node:')) app = i
  }
  const end = app >= 0 ? app + 1 : fs.length
  return fs.slice(Math.max(0, end - 2), end).map((f) => frameLabel(p, f))
}

export interface HeapSideFacts {
  label: string
  processes: number
  /** Sampled live bytes at the end of the windows (all sites). */
  liveBytes: number
  /** V8 used heap at the end of the window (v8.getHeapStatistics), summed over processes. */
  heapUsed?: number
  rss?: number
  handles: Record<string, number>
}

export interface HeapDiffRow {
  /** Innermost frames, root first: `function file:line`. */
  site: string[]
  before: number
  after: number
  delta: number
  beforeObjects: number
  afterObjects: number
}

export interface HeapDiff {
  basis: string
  before: HeapSideFacts
  after: HeapSideFacts
  rows: HeapDiffRow[]
}

function frameLabel(p: Profile, f: number): string {
  const fr = p.frames[f]!
  return fr.file ? `${fr.name} ${fr.file.replace(/^file:\/\//, '')}:${fr.line ?? 0}` : fr.name
}

interface SideData {
  facts: HeapSideFacts
  sites: Map<string, { site: string[]; bytes: number; objects: number }>
}

async function side(path: string, options: LoadOptions): Promise<SideData> {
  const input = await loadDiffInput(path, options)
  const facts: HeapSideFacts = { label: path, processes: 0, liveBytes: 0, handles: {} }
  const sites = new Map<string, { site: string[]; bytes: number; objects: number }>()
  for (const node of input.nodes) {
    const heapFile = node.profile.meta.extra?.heapFile
    if (typeof heapFile !== 'string') continue
    facts.processes++
    const { profiles } = await loadProfiles(heapFile, { ...options, format: 'pprof', sampleType: undefined })
    for (const p of profiles) {
      const space = p.valueTypes.findIndex((v) => v.type === 'inuse_space')
      const objects = p.valueTypes.findIndex((v) => v.type === 'inuse_objects')
      if (space < 0) continue
      for (let r = 0; r < p.sampleStack.length; r++) {
        const bytes = p.values[space]![r]!
        const st = p.sampleStack[r]!
        if (st < 0 || !(bytes > 0)) continue
        const site = siteOf(p, st)
        const key = site.join('\n')
        const e = sites.get(key) ?? { site, bytes: 0, objects: 0 }
        e.bytes += bytes
        e.objects += objects >= 0 ? p.values[objects]![r]! : 0
        sites.set(key, e)
        facts.liveBytes += bytes
      }
    }
    const g = node.profile.growth
    const used = g?.heapStats?.end?.used_heap_size
    if (used !== undefined) facts.heapUsed = (facts.heapUsed ?? 0) + used
    for (const s of g?.series ?? []) {
      const last = s.points[s.points.length - 1]?.[1]
      if (last === undefined) continue
      if (s.name === 'rss') facts.rss = (facts.rss ?? 0) + last
      else if (s.name.startsWith('handles.')) facts.handles[s.name.slice(8)] = (facts.handles[s.name.slice(8)] ?? 0) + last
    }
  }
  if (facts.processes === 0) {
    throw new MeshprofError(`${path}: no heap profile (node-<pid>.heap.pb.gz) among its captures`, EXIT.IO, 'capture with `meshprof capture <pid> --heap`')
  }
  return { facts, sites }
}

export async function heapDiff(before: string, after: string, options: LoadOptions = {}): Promise<HeapDiff> {
  const a = await side(before, options)
  const b = await side(after, options)
  const keys = new Set([...a.sites.keys(), ...b.sites.keys()])
  const rows: HeapDiffRow[] = []
  for (const k of keys) {
    const x = a.sites.get(k)
    const y = b.sites.get(k)
    const before = x?.bytes ?? 0
    const after = y?.bytes ?? 0
    rows.push({ site: (y ?? x)!.site, before, after, delta: after - before, beforeObjects: Math.round(x?.objects ?? 0), afterObjects: Math.round(y?.objects ?? 0) })
  }
  rows.sort((p, q) => Math.abs(q.delta) - Math.abs(p.delta) || q.after - p.after || (p.site.join() < q.site.join() ? -1 : 1))
  return {
    basis: 'live heap at the end of each window by allocation site (V8 sampling heap profiler: allocations made in the window and still reachable), summed over the processes of each side',
    before: a.facts,
    after: b.facts,
    rows,
  }
}
