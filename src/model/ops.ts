// Pure operations on a Profile: totals, self/total aggregation, focus/ignore filters, merge,
// per-stack weights. Each returns new data; the input profile is never changed.
import { ProfileBuilder, stackFrames } from './builder.js'
import type { Frame, Profile, ProfileMeta } from './types.js'

/** Sum of one value column over all rows. */
export function totalWeight(p: Profile, value = p.defaultValue): number {
  const col = p.values[value]!
  let t = 0
  for (let i = 0; i < col.length; i++) t += col[i]!
  return t
}

/** Summed weight per leaf stack (rows folded together). */
export function stackWeights(p: Profile, value = p.defaultValue): Float64Array {
  const w = new Float64Array(p.stackFrame.length)
  const col = p.values[value]!
  for (let i = 0; i < p.sampleStack.length; i++) {
    const s = p.sampleStack[i]!
    if (s >= 0) w[s]! += col[i]!
  }
  return w
}

/** Inclusive weight per stack node (the call tree's "total"): leaf weights pushed up to ancestors. */
export function stackTotals(p: Profile, value = p.defaultValue): Float64Array {
  const t = stackWeights(p, value)
  // Children always have larger ids than parents, so one backward pass accumulates.
  for (let i = t.length - 1; i >= 0; i--) {
    const par = p.stackParent[i]!
    if (par >= 0) t[par]! += t[i]!
  }
  return t
}

export type GroupBy = 'function' | 'file' | 'module' | 'frame'

/** The key a frame is grouped under for `top --by`. */
export function groupKey(f: Frame, by: GroupBy): string {
  switch (by) {
    case 'function':
      return f.name
    case 'file':
      return f.file ?? f.module ?? `[${f.name}]`
    case 'module':
      return f.module ?? f.file ?? `[${f.kind}]`
    case 'frame':
      return `${f.name} ${f.file ?? ''}:${f.line ?? ''}`
  }
}

export interface SelfTotal {
  key: string
  /** A representative frame of the group (the heaviest one). */
  frame: Frame
  self: number
  total: number
}

/**
 * Self and total weight per group key. Recursion is counted once per stack: a function that appears
 * three times on one stack gets that stack's weight once in its total.
 */
export function selfTotalBy(p: Profile, by: GroupBy, value = p.defaultValue): SelfTotal[] {
  const keyOfFrame = new Int32Array(p.frames.length)
  const keys: string[] = []
  const keyIndex = new Map<string, number>()
  const rep: Frame[] = []
  p.frames.forEach((f, i) => {
    const k = groupKey(f, by)
    let id = keyIndex.get(k)
    if (id === undefined) {
      id = keys.length
      keys.push(k)
      keyIndex.set(k, id)
      rep.push(f)
    }
    keyOfFrame[i] = id
  })
  const self = new Float64Array(keys.length)
  const total = new Float64Array(keys.length)
  const w = stackWeights(p, value)
  const stamp = new Int32Array(keys.length).fill(-1)
  for (let s = 0; s < w.length; s++) {
    const ws = w[s]!
    if (ws === 0) continue
    self[keyOfFrame[p.stackFrame[s]!]!]! += ws
    for (let a = s; a >= 0; a = p.stackParent[a]!) {
      const k = keyOfFrame[p.stackFrame[a]!]!
      if (stamp[k] === s) continue
      stamp[k] = s
      total[k]! += ws
    }
  }
  const out: SelfTotal[] = []
  for (let k = 0; k < keys.length; k++) {
    if (total[k] === 0 && self[k] === 0) continue
    out.push({ key: keys[k]!, frame: rep[k]!, self: self[k]!, total: total[k]! })
  }
  return out
}

export interface FilterOptions {
  /** Keep only samples with at least one frame matching. */
  focus?: RegExp
  /** Drop samples with any frame matching. */
  ignore?: RegExp
  /** Drop matching frames from stacks but keep the samples (pprof -hide). */
  hide?: RegExp
}

function frameText(f: Frame): string {
  return f.file ? `${f.name} ${f.file}` : f.name
}

/** pprof-style -focus / -ignore / -hide on frame names (and files). Returns a new profile. */
export function filterProfile(p: Profile, opts: FilterOptions): Profile {
  if (!opts.focus && !opts.ignore && !opts.hide) return p
  const matchFrame = (re: RegExp | undefined) => {
    const m = new Uint8Array(p.frames.length)
    if (re) p.frames.forEach((f, i) => { m[i] = re.test(frameText(f)) ? 1 : 0 })
    return m
  }
  const fm = matchFrame(opts.focus)
  const im = matchFrame(opts.ignore)
  const hm = matchFrame(opts.hide)
  // Per stack: does any frame on it match focus / ignore. Parents first, so one forward pass.
  const n = p.stackFrame.length
  const hasFocus = new Uint8Array(n)
  const hasIgnore = new Uint8Array(n)
  for (let s = 0; s < n; s++) {
    const par = p.stackParent[s]!
    const f = p.stackFrame[s]!
    hasFocus[s] = (par >= 0 ? hasFocus[par]! : 0) | fm[f]!
    hasIgnore[s] = (par >= 0 ? hasIgnore[par]! : 0) | im[f]!
  }
  const b = new ProfileBuilder([...p.valueTypes], { ...p.meta }, false)
  b.defaultValue = p.defaultValue
  if (p.network) b.network = p.network
  const frameMap = new Int32Array(p.frames.length).fill(-1)
  const stackMap = new Int32Array(n).fill(-2)
  const mapStack = (s: number): number => {
    if (s < 0) return -1
    if (stackMap[s] !== -2) return stackMap[s]!
    // iterative: collect unmapped ancestors
    const chain: number[] = []
    let a = s
    while (a >= 0 && stackMap[a] === -2) { chain.push(a); a = p.stackParent[a]! }
    let cur = a < 0 ? -1 : stackMap[a]!
    for (let i = chain.length - 1; i >= 0; i--) {
      const st = chain[i]!
      const f = p.stackFrame[st]!
      if (!hm[f]) {
        if (frameMap[f] === -1) frameMap[f] = b.internFrame(p.frames[f]!)
        cur = b.stackOf(cur, frameMap[f]!)
      }
      stackMap[st] = cur
    }
    return cur
  }
  const vals = new Array<number>(p.values.length)
  for (let r = 0; r < p.sampleStack.length; r++) {
    const s = p.sampleStack[r]!
    if (s < 0) continue
    if (opts.focus && !hasFocus[s]) continue
    if (opts.ignore && hasIgnore[s]) continue
    for (let v = 0; v < vals.length; v++) vals[v] = p.values[v]![r]!
    b.addSample(mapStack(s), vals, p.times?.[r], p.labels?.at(r))
  }
  return b.build()
}

/**
 * Merge profiles into one. Value columns are matched by type+unit; the result has the union of
 * columns. `label` (e.g. 'pid') tags each input's rows so they stay distinguishable.
 */
export function mergeProfiles(ps: readonly Profile[], opts: { label?: (p: Profile, i: number) => Record<string, string | number> | undefined } = {}): Profile {
  if (ps.length === 1 && !opts.label) return ps[0]!
  const vtKeys: string[] = []
  const vts: { type: string; unit: string }[] = []
  for (const p of ps) for (const vt of p.valueTypes) {
    const k = `${vt.type}/${vt.unit}`
    if (!vtKeys.includes(k)) { vtKeys.push(k); vts.push({ ...vt }) }
  }
  const first = ps[0]
  const b = new ProfileBuilder(vts, ps.length > 1 ? mergedMeta(ps) : { ...(first?.meta ?? {}) }, !opts.label)
  if (first) b.defaultValue = vtKeys.indexOf(`${first.valueTypes[first.defaultValue]!.type}/${first.valueTypes[first.defaultValue]!.unit}`)
  let duration = 0
  ps.forEach((p, pi) => {
    duration = Math.max(duration, p.meta.durationNs ?? 0)
    const colMap = p.valueTypes.map((vt) => vtKeys.indexOf(`${vt.type}/${vt.unit}`))
    const frameMap = p.frames.map((f) => b.internFrame(f))
    const stackMap = new Int32Array(p.stackFrame.length)
    for (let s = 0; s < stackMap.length; s++) {
      const par = p.stackParent[s]!
      stackMap[s] = b.stackOf(par < 0 ? -1 : stackMap[par]!, frameMap[p.stackFrame[s]!]!)
    }
    const label = opts.label?.(p, pi)
    const vals = new Array<number>(vts.length)
    for (let r = 0; r < p.sampleStack.length; r++) {
      vals.fill(0)
      for (let v = 0; v < colMap.length; v++) vals[colMap[v]!] = p.values[v]![r]!
      const s = p.sampleStack[r]!
      const own = p.labels?.at(r)
      const l = label || own ? { ...(own ?? {}), ...(label ?? {}) } : undefined
      b.addSample(s < 0 ? -1 : stackMap[s]!, vals, opts.label ? p.times?.[r] : undefined, l)
    }
  })
  if (duration && b.meta.durationNs === undefined) b.meta.durationNs = duration
  return b.build()
}

/** Stacks with their weights as frame-name arrays, root first; for exporters and tests. */
export function* weightedStacks(p: Profile, value = p.defaultValue): Generator<{ stack: number; frames: number[]; weight: number }> {
  const w = stackWeights(p, value)
  for (let s = 0; s < w.length; s++) if (w[s]! > 0) yield { stack: s, frames: stackFrames(p, s), weight: w[s]! }
}

/**
 * Meta for the header of several profiles shown as one (a mesh capture directory): names joined,
 * CPU time summed (when every profile knows it), the longest window, no single pid or command.
 * mergeProfiles() keeps the first profile's meta, which would show one node's CPU for the mesh.
 */
export function mergedMeta(ps: readonly Profile[]): ProfileMeta {
  if (ps.length === 1) return ps[0]!.meta
  const names = ps.map((p, i) => p.meta.name ?? (p.meta.pid !== undefined ? `pid ${p.meta.pid}` : `profile ${i + 1}`))
  const shown = names.length <= 4 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`
  const meta: ProfileMeta = { name: `${ps.length} processes: ${shown}` }
  const same = <K extends keyof ProfileMeta>(k: K) => (ps.every((p) => p.meta[k] === ps[0]!.meta[k]) ? ps[0]!.meta[k] : undefined)
  const durations = ps.map((p) => p.meta.durationNs).filter((d): d is number => typeof d === 'number')
  if (durations.length) meta.durationNs = Math.max(...durations)
  if (ps.every((p) => typeof p.meta.cpuTimeNs === 'number')) meta.cpuTimeNs = ps.reduce((s, p) => s + p.meta.cpuTimeNs!, 0)
  const backend = same('backend')
  if (backend !== undefined) meta.backend = backend
  const fmt = same('sourceFormat')
  if (fmt !== undefined) meta.sourceFormat = fmt
  const period = same('periodNs')
  if (period !== undefined) meta.periodNs = period
  return meta
}
