// Profile -> gzipped profile.proto that `go tool pprof` reads. Sample types are the profile's value
// columns (the default one named as default_sample_type), one function + one location per frame,
// one mapping per module, rows with the same stack and labels merged into one sample (pprof has no
// per-sample timestamps). Values are written as int64: fractional weights are rounded.
// Stacks are expanded iteratively, so 50,000-frame stacks are fine.
import { gzipSync } from 'node:zlib'
import type { Profile } from '../model/types.js'
import { ProtoWriter } from './protobuf.js'
import { Interner } from '../model/interner.js'

/** Encode a profile as raw (not gzipped) profile.proto bytes. */
export function encodePprof(p: Profile): Uint8Array {
  const w = new ProtoWriter()
  const st = new Interner(['']) // profile.proto's string table: entry 0 is always ""
  const nCols = p.values.length

  // 1: sample_type
  for (const vt of p.valueTypes) {
    const m = w.fork()
    w.int(1, st.id(vt.type))
    w.int(2, st.id(vt.unit))
    w.ldelim(1, m)
  }

  // 2: samples - merge rows with equal stack and labels.
  const labelKeyOf = (l: Readonly<Record<string, string | number>> | undefined): string => {
    if (!l) return ''
    const keys = Object.keys(l).sort()
    return keys.map((k) => `${k}\u0000${typeof l[k]}\u0000${l[k]}`).join('\u0001')
  }
  const groups = new Map<string, number>()
  const gStack: number[] = []
  const gLabels: (Readonly<Record<string, string | number>> | undefined)[] = []
  const gValues: number[][] = []
  for (let r = 0; r < p.sampleStack.length; r++) {
    const s = p.sampleStack[r]!
    const l = p.labels?.at(r)
    const key = l ? `${s}|${labelKeyOf(l)}` : String(s)
    let g = groups.get(key)
    if (g === undefined) {
      g = gStack.length
      groups.set(key, g)
      gStack.push(s)
      gLabels.push(l)
      gValues.push(new Array<number>(nCols).fill(0))
    }
    const vals = gValues[g]!
    for (let v = 0; v < nCols; v++) vals[v]! += p.values[v]![r]!
  }
  const labelUnits = (p.meta.extra?.labelUnits ?? {}) as Record<string, string>
  const locs: number[] = []
  const ints: number[] = new Array(nCols)
  for (let g = 0; g < gStack.length; g++) {
    const vals = gValues[g]!
    let any = false
    for (let v = 0; v < nCols; v++) { ints[v] = Math.round(vals[v]!); if (ints[v] !== 0) any = true }
    if (!any) continue
    const m = w.fork()
    locs.length = 0
    for (let s = gStack[g]!; s >= 0; s = p.stackParent[s]!) locs.push(p.stackFrame[s]! + 1) // leaf first
    w.packed(1, locs)
    w.packed(2, ints, true)
    const l = gLabels[g]
    if (l) {
      for (const k of Object.keys(l)) {
        const val = l[k]!
        const lm = w.fork()
        w.int(1, st.id(k))
        if (typeof val === 'number') {
          w.int(3, Math.round(val))
          if (labelUnits[k]) w.int(4, st.id(labelUnits[k]!))
        } else {
          w.int(2, st.id(val))
        }
        w.ldelim(3, lm)
      }
    }
    w.ldelim(2, m)
  }

  // 3: mappings, one per module (id = index + 1). has_functions etc. tell pprof not to symbolize.
  const mappingOf = new Map<string, number>()
  for (const f of p.frames) {
    if (f.module === undefined || f.module === '' || mappingOf.has(f.module)) continue
    const id = mappingOf.size + 1
    mappingOf.set(f.module, id)
    const m = w.fork()
    w.uint(1, id)
    w.int(5, st.id(f.module))
    w.bool(7, true)
    w.bool(8, true)
    w.bool(9, true)
    w.ldelim(3, m)
  }

  // 4: locations and 5: functions, one each per frame (id = frame index + 1).
  p.frames.forEach((f, i) => {
    const m = w.fork()
    w.uint(1, i + 1)
    if (f.module) w.uint(2, mappingOf.get(f.module)!)
    const lm = w.fork()
    w.uint(1, i + 1)
    w.int(2, f.line ?? 0)
    w.ldelim(4, lm)
    w.ldelim(4, m)
  })
  p.frames.forEach((f, i) => {
    const m = w.fork()
    w.uint(1, i + 1)
    const name = st.id(f.name)
    w.int(2, name)
    w.int(3, name)
    if (f.file) w.int(4, st.id(f.file))
    w.int(5, f.line ?? 0)
    w.ldelim(5, m)
  })

  // Scalars whose strings must be in the table before it is written.
  const extra = p.meta.extra ?? {}
  const pt = extra.periodType as { type?: string; unit?: string } | undefined
  const periodType = pt && typeof pt.type === 'string' ? { type: pt.type, unit: pt.unit ?? '' } : p.meta.periodNs ? { type: 'cpu', unit: 'nanoseconds' } : undefined
  const period = typeof extra.period === 'number' ? extra.period : p.meta.periodNs
  const ptIdx = periodType ? [st.id(periodType.type), st.id(periodType.unit)] : undefined
  const comments = Array.isArray(extra.comments) ? (extra.comments as unknown[]).filter((c): c is string => typeof c === 'string').map((c) => st.id(c)) : []
  const dflt = p.defaultValue !== p.valueTypes.length - 1 ? st.id(p.valueTypes[p.defaultValue]!.type) : 0
  const drop = typeof extra.dropFrames === 'string' ? st.id(extra.dropFrames) : 0
  const keep = typeof extra.keepFrames === 'string' ? st.id(extra.keepFrames) : 0

  // 6: string_table
  for (const s of st.list) w.string(6, s)
  w.int(7, drop)
  w.int(8, keep)
  w.int(9, p.meta.startTimeNs ?? 0)
  w.int(10, Math.round(p.meta.durationNs ?? 0))
  if (ptIdx) {
    const m = w.fork()
    w.int(1, ptIdx[0]!)
    w.int(2, ptIdx[1]!)
    w.ldelim(11, m)
  }
  w.int(12, Math.round(period ?? 0))
  if (comments.length) w.packed(13, comments, true)
  w.int(14, dflt)
  return w.finish()
}

/** Encode a profile as gzipped pprof protobuf. */
export function toPprof(p: Profile): Buffer {
  return gzipSync(encodePprof(p))
}
