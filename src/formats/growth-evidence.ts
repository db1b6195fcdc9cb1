// The `growth` section of a capture file (capture --heap) -> the model's GrowthEvidence, validated:
// a hostile or truncated file is refused with one line (exit 4), never half-read.
import type { GrowthEvidence, GrowthSeries, HeapSite } from '../model/types.js'
import { MalformedInputError } from '../util/errors.js'

type Json = Record<string, unknown>

function isObj(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function isPoints(x: unknown): x is Array<[number, number]> {
  return Array.isArray(x) && x.every((p) => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]))
}

function numbers(x: unknown): Record<string, number> | undefined {
  if (!isObj(x)) return undefined
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(x)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v
  return out
}

export function parseGrowth(raw: unknown, name: string): GrowthEvidence | undefined {
  if (raw === undefined || raw === null) return undefined
  const bad = (d: string): never => { throw new MalformedInputError('capture', `${name}: growth: ${d}`) }
  if (!isObj(raw)) bad('not an object')
  const g = raw as Json
  if (!Array.isArray(g.series)) bad('series is not an array')
  const series: GrowthSeries[] = []
  for (const s of g.series as unknown[]) {
    if (!isObj(s) || typeof s.name !== 'string' || (s.unit !== 'count' && s.unit !== 'bytes') || !isPoints(s.points)) bad('a series lacks name, unit (count|bytes) or [t, value] points')
    const e = s as Json
    series.push({ name: e.name as string, unit: e.unit as 'count' | 'bytes', points: e.points as Array<[number, number]> })
  }
  let sites: HeapSite[] | undefined
  if (g.sites !== undefined) {
    if (!Array.isArray(g.sites)) bad('sites is not an array')
    sites = []
    for (const s of g.sites as unknown[]) {
      if (!isObj(s) || !Array.isArray(s.frames) || !s.frames.every((f) => typeof f === 'string') || !isPoints(s.points)) bad('a site lacks frames or [t, bytes] points')
      sites.push({ frames: (s as Json).frames as string[], points: (s as Json).points as Array<[number, number]> })
    }
  }
  const stats = isObj(g.heapStats) ? g.heapStats : undefined
  const start = numbers(stats?.start)
  const end = numbers(stats?.end)
  return {
    windowMs: typeof g.windowMs === 'number' && Number.isFinite(g.windowMs) ? g.windowMs : 0,
    series,
    ...(sites ? { sites } : {}),
    ...(start || end ? { heapStats: { ...(start ? { start } : {}), ...(end ? { end } : {}) } } : {}),
  }
}
