// `go tool pprof -raw` output, parsed for comparisons with meshprof's pprof import (conformance
// over the corpus, and go reading meshprof's own pprof export).
import assert from 'node:assert/strict'
import { stackFrames } from '../../src/model/builder.js'
import type { Profile } from '../../src/model/types.js'

export interface RawProfile {
  types: string[]
  dflt: number
  samples: { values: number[]; locs: number[]; labels: string[] }[]
  /** location id -> names of its lines, innermost first (as -raw lists them) */
  locations: Map<number, string[]>
}

/** Parse the Samples and Locations sections of `go tool pprof -raw` output. */
export function parseRaw(text: string): RawProfile {
  const lines = text.split('\n')
  let i = lines.indexOf('Samples:')
  assert.ok(i >= 0, 'no Samples: section')
  const header = lines[i + 1]!.trim().split(/\s+/)
  let dflt = header.findIndex((h) => h.endsWith('[dflt]'))
  const types = header.map((h) => h.replace(/\[dflt\]$/, ''))
  if (dflt < 0) dflt = types.length - 1
  const samples: RawProfile['samples'] = []
  const locations = new Map<number, string[]>()
  let section = 'samples'
  let lastLoc: string[] | undefined
  for (i += 2; i < lines.length; i++) {
    const l = lines[i]!
    if (l === 'Locations') { section = 'locations'; continue }
    if (l === 'Mappings') break
    if (section === 'samples') {
      const m = /^\s*(-?\d+(?:\s+-?\d+)*):\s*((?:\d+\s*)*)$/.exec(l)
      if (m) {
        samples.push({ values: m[1]!.trim().split(/\s+/).map(Number), locs: m[2]!.trim() ? m[2]!.trim().split(/\s+/).map(Number) : [], labels: [] })
      } else if (/^\s+\S+:\[/.test(l)) {
        const cur = samples[samples.length - 1]!
        for (const t of l.trim().matchAll(/(\S+?):\[([^\]]*)\]/g)) cur.labels.push(`${t[1]}:[${t[2]}]`)
      }
      continue
    }
    const m = /^\s*(\d+): (0x[0-9a-f]+) (?:M=\d+ )?(?:\[F\] )?(.*)$/.exec(l)
    if (m) {
      lastLoc = []
      locations.set(Number(m[1]), lastLoc)
      if (m[3]!.trim() === '') lastLoc.push(m[2]!)
      else lastLoc.push(lineName(m[3]!))
    } else if (lastLoc && /^\s{6,}\S/.test(l)) {
      lastLoc.push(lineName(l.trim()))
    }
  }
  return { types, dflt, samples, locations }
}

function lineName(part: string): string {
  if (part.trim() === '??') return '??'
  const m = /^(.*?) (\S*):(-?\d+) s=(-?\d+)(?:\((.*)\))?$/.exec(part.trim()) ?? /^(.*) (\S*):(-?\d+) s=(-?\d+)(?:\((.*)\))?$/.exec(part)
  assert.ok(m, `cannot parse location line '${part}'`)
  const name = m[1]!.trim()
  return name !== '' ? name : m[5] ? m[5] : '??'
}

// `go tool pprof` merges its input on load (profile.Merge: samples with the same locations and
// labels are summed, all-zero samples dropped), so -raw lists merged samples. Both sides are
// compared as "stack of function names + labels -> summed values".
export function addTo(out: Map<string, number[]>, key: string, values: number[]): void {
  const cur = out.get(key)
  if (cur) for (let v = 0; v < values.length; v++) cur[v]! += values[v]!
  else out.set(key, [...values])
}

export function rawKeys(raw: RawProfile): Map<string, number[]> {
  const out = new Map<string, number[]>()
  for (const s of raw.samples) {
    const names: string[] = []
    for (let j = s.locs.length - 1; j >= 0; j--) {
      const ls = raw.locations.get(s.locs[j]!)
      assert.ok(ls, `location ${s.locs[j]} missing from -raw`)
      for (let k = ls.length - 1; k >= 0; k--) names.push(ls[k]!)
    }
    addTo(out, `${names.join(';')}|${[...s.labels].sort().join(' ')}`, s.values)
  }
  return out
}

export function ourKeys(p: Profile): Map<string, number[]> {
  const units = (p.meta.extra?.labelUnits ?? {}) as Record<string, string>
  const out = new Map<string, number[]>()
  for (let r = 0; r < p.sampleStack.length; r++) {
    const values = p.values.map((c) => c[r]!)
    if (values.every((v) => v === 0)) continue
    const names = p.sampleStack[r]! < 0 ? [] : stackFrames(p, p.sampleStack[r]!).map((f) => p.frames[f]!.name)
    const l = p.labels?.at(r)
    const labels = l
      ? Object.entries(l).map(([k, v]) => (typeof v === 'number' ? `${k}:[${v}${units[k] ? ` ${units[k]}` : ''}]` : `${k}:[${v.split(',').join(' ')}]`))
      : []
    addTo(out, `${names.join(';')}|${labels.sort().join(' ')}`, values)
  }
  return out
}

