// What the in-target probe (agent/probe.cjs) sends for `capture --heap`: live bytes per allocation
// site from V8's sampling heap profiler at about ten points of the window, active handles by type and
// the used heap every second, v8.getHeapStatistics() at the start and the end. Turned into a heap
// pprof and growth evidence by heap.ts (loaded only when there is something to write).

/** [function, url, line (0-based), column (0-based)], as the inspector's callFrame. */
export type HeapFrame = [string, string, number, number]

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
