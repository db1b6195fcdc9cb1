// growth: something that keeps growing with uptime and never comes back down — live heap of one
// allocation site, a handle type (timers, sockets), RSS, heap floor, fds, threads. A CPU profile
// cannot see it; `meshprof capture --heap` records it (handles and memory every second, the live
// heap by allocation site at about ten points). The incident's soak test found "a couple of sets
// that never shrink": a peers set that keeps closed peers, a per-connection timer never cleared.
//
// What counts as growth (one window, or several captures of one process put on one timeline):
// - at least `minPoints` points, a gain of at least the kind's minimum;
// - never back down: no point falls below the running maximum by more than `dropTolerance` of the
//   gain. Heap and RSS move in a GC sawtooth, so for them the series is first replaced by the level
//   they come back down to (the minimum of every later point);
// - rising in at least `minPoints` - 1 steps (one jump is not a trend);
// - still growing at the end: the slope over the later half of the time span is at least
//   `lateSlope` of the slope over all of it. Warm-up (grows, then plateaus) fails this.
// - an allocation site also needs the process to grow with it: the sampling heap profiler only sees
//   allocations since the window start, so a bounded cache that replaces its entries looks like
//   a growing site; the heap floor does not grow then. Across captures the same site must grow in
//   at least two of them.
import type { GrowthEvidence, GrowthSeries, HeapSite } from '../../model/types.js'
import type { Finding, Rule, RuleContext, Severity, ThresholdSpec } from './types.js'

export const GROWTH_THRESHOLDS: Record<string, ThresholdSpec> = {
  minPoints: { default: 3, min: 3, description: 'points in time a trend needs (per-second samples of a window, or across captures)' },
  minHandles: { default: 5, min: 1, description: 'handles of one type gained (timers, sockets, ...) for a finding' },
  minSiteBytes: { default: 65536, min: 1, description: 'live sampled bytes one allocation site gains for a finding' },
  minProcessBytes: { default: 8 * 1024 * 1024, min: 1, description: 'RSS or heap floor gained, bytes, for a finding' },
  minProcessSpanMs: { default: 60000, min: 0, description: 'RSS and heap floor need a timeline at least this long (ms): in a short window they move with GC sizing and the profiler itself' },
  minFds: { default: 5, min: 1, description: 'open file descriptors gained for a finding' },
  minThreads: { default: 2, min: 1, description: 'threads gained for a finding' },
  dropTolerance: { default: 0.1, min: 0, max: 1, description: 'a point may fall below the running maximum by at most this fraction of the gain' },
  lateSlope: { default: 0.3, min: 0, max: 1, description: 'slope over the later half of the span, as a fraction of the overall slope, below which the series counts as plateaued (warm-up)' },
  siteFloorShare: { default: 0.5, min: 0, max: 10, description: "the heap floor must grow by at least this fraction of a site's gain (a bounded cache replacing entries does not)" },
  horizonHours: { default: 24, min: 0, description: 'severity high when the growth rate doubles the current value within this many hours' },
}

const REMEDY = 'remove closed peers from every registry and clear per-connection timers on close: what a connection registers must be released when it goes away'

type Points = ReadonlyArray<readonly [number, number]>

export interface Trend {
  first: number
  last: number
  gain: number
  spanMs: number
  /** Least-squares slope, per hour. */
  perHour: number
  /** The points the verdict used (after flooring), ms on the combined timeline. */
  points: Points
}

/** The level a sawtooth series comes back down to: the minimum of each point and every later one (the very last point dropped: nothing after it can bring it down). */
export function floorSeries(points: Points): Points {
  if (points.length < 2) return points
  const out: Array<readonly [number, number]> = []
  let m = Infinity
  for (let i = points.length - 2; i >= 0; i--) {
    m = Math.min(m, points[i]![1], points[i + 1]![1])
    out.push([points[i]![0], m])
  }
  return out.reverse()
}

function slope(points: Points): number {
  const n = points.length
  if (n < 2) return 0
  let st = 0
  let sv = 0
  for (const [t, v] of points) { st += t; sv += v }
  const mt = st / n
  const mv = sv / n
  let num = 0
  let den = 0
  for (const [t, v] of points) { num += (t - mt) * (v - mv); den += (t - mt) ** 2 }
  return den > 0 ? num / den : 0
}

/** A monotonic, still-rising trend, or undefined. t in ms. */
export function risingTrend(points: Points, minGain: number, tv: (k: string) => number): Trend | undefined {
  const pts = [...points].sort((a, b) => a[0] - b[0])
  if (pts.length < tv('minPoints')) return undefined
  const first = pts[0]![1]
  const last = pts[pts.length - 1]![1]
  const gain = last - first
  if (!(gain >= minGain) || gain <= 0) return undefined
  let max = -Infinity
  let rises = 0
  for (const [, v] of pts) {
    if (v < max - tv('dropTolerance') * gain) return undefined // came back down
    if (v > max) rises++
    max = Math.max(max, v)
  }
  if (rises - 1 < tv('minPoints') - 1) return undefined // one jump is not a trend
  const t0 = pts[0]![0]
  const spanMs = pts[pts.length - 1]![0] - t0
  if (spanMs <= 0) return undefined
  const overall = slope(pts)
  const mid = t0 + spanMs / 2
  const late = pts.filter(([t]) => t >= mid)
  const lateSlope = late.length >= 2 ? slope(late) : 0
  if (!(overall > 0) || lateSlope < tv('lateSlope') * overall) return undefined // warm-up: it plateaued
  return { first, last, gain, spanMs, perHour: overall * 3.6e6, points: pts }
}

// ---- what grows -------------------------------------------------------------------------------

interface Kind {
  label: string
  unit: 'count' | 'bytes'
  minKey: string
  floor: boolean
  remedy: string
  /** Threshold naming the shortest timeline this kind is judged on. */
  spanKey?: string
}

function kindOf(s: Pick<GrowthSeries, 'name' | 'unit'>): Kind | undefined {
  if (s.name.startsWith('handles.')) {
    const type = s.name.slice('handles.'.length)
    const remedy = type === 'Timeout' || type === 'Immediate'
      ? 'clear the per-connection timer on close (clearInterval/clearTimeout in the connection\'s close handler)'
      : /TCP|TLS|Pipe|UDP|Socket/i.test(type)
        ? 'close the previous connection when a peer reconnects, and remove closed peers from every registry'
        : `close ${type} handles when their owner goes away`
    return { label: `active ${type} handles`, unit: 'count', minKey: 'minHandles', floor: false, remedy }
  }
  const process = 'find what is retained: `meshprof diff t0/ t1/ --heap` ranks allocation sites by live-heap growth; remove closed peers from every registry and clear per-connection timers on close'
  switch (s.name) {
    case 'heap.used': return { label: 'V8 heap floor (used heap after GC)', unit: 'bytes', minKey: 'minProcessBytes', floor: true, remedy: process, spanKey: 'minProcessSpanMs' }
    case 'rss': return { label: 'resident memory (RSS)', unit: 'bytes', minKey: 'minProcessBytes', floor: true, remedy: process, spanKey: 'minProcessSpanMs' }
    case 'fds': return { label: 'open file descriptors', unit: 'count', minKey: 'minFds', floor: false, remedy: 'close sockets and files when their peer goes away (descriptors pile up with reconnects)' }
    case 'threads': return { label: 'threads', unit: 'count', minKey: 'minThreads', floor: false, remedy: 'threads keep being created: reuse a bounded pool' }
    default: return undefined
  }
}

export function fmtValue(v: number, unit: 'count' | 'bytes'): string {
  if (unit === 'count') return String(Math.round(v))
  const a = Math.abs(v)
  if (a >= 1024 ** 3) return `${(v / 1024 ** 3).toFixed(2)} GiB`
  if (a >= 1024 ** 2) return `${(v / 1024 ** 2).toFixed(1)} MiB`
  if (a >= 1024) return `${(v / 1024).toFixed(0)} KiB`
  return `${Math.round(v)} B`
}

/** "0s 16, 1s 36, ..." — at most 12 points, evenly picked. */
function pointsText(points: Points, unit: 'count' | 'bytes'): string {
  const n = points.length
  const idx = n <= 12 ? [...points.keys()] : Array.from({ length: 12 }, (_, i) => Math.round((i * (n - 1)) / 11))
  const t0 = points[0]![0]
  return idx.map((i) => `${((points[i]![0] - t0) / 1000).toFixed(0)}s ${fmtValue(points[i]![1], unit)}`).join(', ')
}

function rateText(perHour: number, unit: 'count' | 'bytes'): string {
  return `${unit === 'count' ? `+${Math.round(perHour).toLocaleString('en-US')}` : `+${fmtValue(perHour, 'bytes')}`} per hour`
}

function severityOf(tr: Trend, tv: (k: string) => number): Severity {
  const base = Math.max(Math.abs(tr.last), 1)
  return tr.perHour * tv('horizonHours') >= base ? 'high' : 'medium'
}

/** A finding without ids (the rule and the cross-capture check fill them in). */
export type GrowthFinding = Pick<Finding, 'severity' | 'message' | 'remedy' | 'frames' | 'evidence'>

/** One window of evidence placed on a common timeline (offsetMs from the first capture's start). */
export interface GrowthWindow {
  growth: GrowthEvidence
  offsetMs: number
}

function seriesFindings(windows: readonly GrowthWindow[], tv: (k: string) => number, where: string): GrowthFinding[] {
  const byName = new Map<string, { unit: 'count' | 'bytes'; points: Array<readonly [number, number]> }>()
  for (const w of windows) {
    for (const s of w.growth.series) {
      let e = byName.get(s.name)
      if (!e) byName.set(s.name, (e = { unit: s.unit, points: [] }))
      for (const [t, v] of s.points) e.points.push([t + w.offsetMs, v])
    }
  }
  const out: GrowthFinding[] = []
  for (const [name, s] of byName) {
    const kind = kindOf({ name, unit: s.unit })
    if (!kind) continue
    s.points.sort((a, b) => a[0] - b[0])
    const pts = kind.floor ? floorSeries(s.points) : s.points
    const tr = risingTrend(pts, tv(kind.minKey), tv)
    if (!tr || (kind.spanKey && tr.spanMs < tv(kind.spanKey))) continue
    out.push({
      severity: severityOf(tr, tv),
      message: `${kind.label} grew from ${fmtValue(tr.first, kind.unit)} to ${fmtValue(tr.last, kind.unit)} ${where} and never came back down (${rateText(tr.perHour, kind.unit)})`,
      remedy: kind.remedy,
      frames: [],
      evidence: {
        stacks: [],
        numbers: { series: name, first: Math.round(tr.first), last: Math.round(tr.last), gain: Math.round(tr.gain), perHour: Math.round(tr.perHour), points: tr.points.length, spanMs: Math.round(tr.spanMs) },
        notes: [`${name}: ${pointsText(tr.points, kind.unit)}`, `${tr.points.length} points over ${(tr.spanMs / 1000).toFixed(1)} s ${where}; the later half still rises at the overall rate (not warm-up)`],
      },
    })
  }
  return out
}

/** The frame name of a site label `name file:line`. */
function frameName(label: string): string {
  const m = /^(.*) (\S+:\d+)$/.exec(label)
  return m ? m[1]! : label
}

/** Innermost frame of the application (not node: internals, not native) in a site. */
function appFrame(frames: readonly string[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) if (/ (?!node:)\S+:\d+$/.test(frames[i]!)) return frames[i]
  return undefined
}

function heapFloorGain(windows: readonly GrowthWindow[]): { gain: number; spanMs: number; last: number } | undefined {
  const pts: Array<readonly [number, number]> = []
  for (const w of windows) for (const s of w.growth.series) if (s.name === 'heap.used') for (const [t, v] of s.points) pts.push([t + w.offsetMs, v])
  if (pts.length < 3) return undefined
  pts.sort((a, b) => a[0] - b[0])
  const f = floorSeries(pts)
  return { gain: f[f.length - 1]![1] - f[0]![1], spanMs: f[f.length - 1]![0] - f[0]![0], last: f[f.length - 1]![1] }
}

function siteFindings(windows: readonly GrowthWindow[], tv: (k: string) => number, where: string): GrowthFinding[] {
  // per window: sites that grow steadily through it
  const grow = new Map<string, Array<{ site: HeapSite; trend: Trend; window: number }>>()
  windows.forEach((w, wi) => {
    for (const site of w.growth.sites ?? []) {
      const tr = risingTrend(site.points, tv('minSiteBytes'), tv)
      if (!tr) continue
      const key = site.frames.join('\n')
      let g = grow.get(key)
      if (!g) grow.set(key, (g = []))
      g.push({ site, trend: tr, window: wi })
    }
  })
  const floor = heapFloorGain(windows)
  const out: Array<GrowthFinding & { perHour: number }> = []
  for (const g of grow.values()) {
    if (windows.length > 1 && g.length < 2) continue // across captures: the same site grows in two of them
    const perMs = g.reduce((s, x) => s + x.trend.gain / x.trend.spanMs, 0) / g.length
    const expected = windows.length > 1 && floor ? perMs * floor.spanMs : g[0]!.trend.gain
    if (!floor || floor.gain < tv('siteFloorShare') * expected) continue // the process does not grow with it: a cache replacing entries
    const frames = g[0]!.site.frames
    const app = appFrame(frames)
    const perHour = perMs * 3.6e6
    const trimmed = frames.length > 12 ? frames.slice(frames.length - 12) : frames
    const chainText = trimmed.slice(-4).map(frameName).join(' -> ')
    out.push({
      perHour,
      // high when it alone would double the heap within the horizon
      severity: perHour * tv('horizonHours') >= floor.last ? 'high' : 'medium',
      message: `live heap allocated at ${chainText} grew ${where} and was never freed (${rateText(perHour, 'bytes')}${g.length > 1 ? `, in ${g.length} captures` : ''})`,
      remedy: `remove closed peers from every registry: what ${app ? frameName(app) : 'this site'} allocates stays reachable (a set, map or timer still holds it); delete the entry when the connection closes, or bound the collection`,
      frames: [...new Set(frames.filter((f) => !/ node:\S+:\d+$/.test(f)).map(frameName))].filter((n) => n !== '(anonymous)'),
      evidence: {
        stacks: [{ frames: [...trimmed], weight: g[g.length - 1]!.trend.last, share: 0 }],
        numbers: { liveBytesFirst: g[0]!.trend.first, liveBytesLast: g[g.length - 1]!.trend.last, perHour: Math.round(perHour), heapFloorGain: Math.round(floor.gain), captures: g.length },
        notes: [
          ...g.map((x) => `${windows.length > 1 ? `capture ${x.window + 1}: ` : ''}live bytes sampled since the window start: ${pointsText(x.trend.points, 'bytes')}`),
          `the heap floor grew by ${fmtValue(floor.gain, 'bytes')} over ${(floor.spanMs / 1000).toFixed(0)} s ${where} (a bounded cache replacing its entries would not)`,
        ],
      },
    })
  }
  out.sort((a, b) => b.perHour - a.perHour)
  return out.slice(0, 3).map(({ perHour: _p, ...f }) => f)
}

/** Findings for one window (one capture) or several captures of one process on one timeline. */
export function growthFindings(windows: readonly GrowthWindow[], tv: (k: string) => number, where: string): GrowthFinding[] {
  const fs = [...seriesFindings(windows, tv, where), ...siteFindings(windows, tv, where)]
  // a handle or site that doubles within the horizon first
  return fs.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'high' ? -1 : 1))
}

export const growth: Rule = {
  id: 'growth',
  title: 'Growth with uptime',
  severity: 'high',
  source: 'builtin',
  description:
    'Something that grows steadily across the window (or across captures of the same process) and never comes back down: ' +
    'live heap of one allocation site, a handle type (timers, sockets), RSS or the heap floor, fds, threads. Warm-up that ' +
    'plateaus and caches that fill to a bound are not growth. Needs `meshprof capture --heap`.',
  remedy: REMEDY,
  thresholds: GROWTH_THRESHOLDS,
  check(ctx: RuleContext): Finding[] {
    const g = ctx.profile.growth
    if (!g) {
      ctx.skip('no memory or handle evidence: `meshprof capture --heap` records it')
      return []
    }
    return growthFindings([{ growth: g, offsetMs: 0 }], (k) => ctx.t(k), 'during the window').map((f) =>
      ctx.finding({ severity: f.severity, share: 0, message: f.message, remedy: f.remedy, frames: f.frames, evidence: f.evidence }))
  },
}
