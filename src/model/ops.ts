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
  /**
   * How many distinct places (file, else module) the group's frames come from, when more than one:
   * `--by function` groups by name, so two `decode`s of two files are one row that names no file.
   */
  places?: number
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
  const placeOf = (f: Frame) => f.file ?? f.module ?? ''
  const places = new Map<number, Set<string>>() // only for keys whose frames come from several places
  p.frames.forEach((f, i) => {
    const k = groupKey(f, by)
    let id = keyIndex.get(k)
    if (id === undefined) {
      id = keys.length
      keys.push(k)
      keyIndex.set(k, id)
      rep.push(f)
    } else if (by === 'function' && placeOf(f) !== placeOf(rep[id]!)) {
      const set = places.get(id) ?? new Set([placeOf(rep[id]!)])
      set.add(placeOf(f))
      places.set(id, set)
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
    const n = places.get(k)?.size
    out.push({ key: keys[k]!, frame: rep[k]!, self: self[k]!, total: total[k]!, ...(n ? { places: n } : {}) })
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
  /**
   * Keep only the samples of the threads whose root frame matches: a capture's `[main]` /
   * `[worker 1] name` (kind 'thread'), perf's process or thread root (kind 'program').
   */
  thread?: RegExp
}

/** A frame that names a thread when it is a stack's root: a capture's thread, perf's process or thread name. */
function isThreadFrame(f: Frame): boolean {
  return f.kind === 'thread' || f.kind === 'program'
}

/** Names of the thread roots a --thread filter chooses from. */
export function threadNames(p: Profile): string[] {
  const out = new Set<string>()
  for (let s = 0; s < p.stackFrame.length; s++) {
    if (p.stackParent[s]! >= 0) continue
    const f = p.frames[p.stackFrame[s]!]!
    if (isThreadFrame(f)) out.add(f.name)
  }
  return [...out]
}

function frameText(f: Frame): string {
  return f.file ? `${f.name} ${f.file}` : f.name
}

/** pprof-style -focus / -ignore / -hide on frame names (and files). Returns a new profile. */
export function filterProfile(p: Profile, opts: FilterOptions): Profile {
  if (!opts.focus && !opts.ignore && !opts.hide && !opts.thread) return p
  const matchFrame = (re: RegExp | undefined) => {
    const m = new Uint8Array(p.frames.length)
    if (re) p.frames.forEach((f, i) => { m[i] = re.test(frameText(f)) ? 1 : 0 })
    return m
  }
  const fm = matchFrame(opts.focus)
  const im = matchFrame(opts.ignore)
  const hm = matchFrame(opts.hide)
  const tm = new Uint8Array(p.frames.length)
  if (opts.thread) p.frames.forEach((f, i) => { tm[i] = isThreadFrame(f) && opts.thread!.test(f.name) ? 1 : 0 })
  // Per stack: does any frame on it match focus / ignore. Parents first, so one forward pass.
  const n = p.stackFrame.length
  const hasFocus = new Uint8Array(n)
  const hasIgnore = new Uint8Array(n)
  const inThread = new Uint8Array(n)
  for (let s = 0; s < n; s++) {
    const par = p.stackParent[s]!
    const f = p.stackFrame[s]!
    inThread[s] = par >= 0 ? inThread[par]! : tm[f]!
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
    if (opts.thread && !inThread[s]) continue
    for (let v = 0; v < vals.length; v++) vals[v] = p.values[v]![r]!
    b.addSample(mapStack(s), vals, p.times?.[r], p.labels?.at(r))
  }
  return b.build()
}

export interface MergeOptions {
  /** Tags each input's rows (e.g. pid) so they stay distinguishable; keeps per-row times. */
  label?: (p: Profile, i: number) => Record<string, string | number> | undefined
  /** A frame every stack of input i hangs from (one root per thread: threadProfiles()). */
  root?: (p: Profile, i: number) => Frame | undefined
  /** Added to input i's row times (its window started later than the first one's), ns. */
  timeOffsetNs?: (p: Profile, i: number) => number
  /** Meta of the result (default: the first input's, or mergedMeta() of several). */
  meta?: ProfileMeta
}

/**
 * Merge profiles into one. Value columns are matched by type+unit; the result has the union of
 * columns. `label` (e.g. 'pid') tags each input's rows so they stay distinguishable.
 */
export function mergeProfiles(ps: readonly Profile[], opts: MergeOptions = {}): Profile {
  if (ps.length === 1 && !opts.label && !opts.root) return ps[0]!
  const vtKeys: string[] = []
  const vts: { type: string; unit: string }[] = []
  for (const p of ps) for (const vt of p.valueTypes) {
    const k = `${vt.type}/${vt.unit}`
    if (!vtKeys.includes(k)) { vtKeys.push(k); vts.push({ ...vt }) }
  }
  const first = ps[0]
  const b = new ProfileBuilder(vts, opts.meta ? { ...opts.meta } : ps.length > 1 ? mergedMeta(ps) : { ...(first?.meta ?? {}) }, !opts.label)
  if (first) b.defaultValue = vtKeys.indexOf(`${first.valueTypes[first.defaultValue]!.type}/${first.valueTypes[first.defaultValue]!.unit}`)
  let duration = 0
  ps.forEach((p, pi) => {
    duration = Math.max(duration, p.meta.durationNs ?? 0)
    const colMap = p.valueTypes.map((vt) => vtKeys.indexOf(`${vt.type}/${vt.unit}`))
    const frameMap = p.frames.map((f) => b.internFrame(f))
    const rootFrame = opts.root?.(p, pi)
    const root = rootFrame ? b.stackOf(-1, b.internFrame(rootFrame)) : -1
    const stackMap = new Int32Array(p.stackFrame.length)
    for (let s = 0; s < stackMap.length; s++) {
      const par = p.stackParent[s]!
      // idle stacks stay roots of their own: not CPU, so no thread's total holds them
      const top = par < 0 ? (p.frames[p.stackFrame[s]!]!.kind === 'idle' ? -1 : root) : stackMap[par]!
      stackMap[s] = b.stackOf(top, frameMap[p.stackFrame[s]!]!)
    }
    const label = opts.label?.(p, pi)
    const dt = opts.timeOffsetNs?.(p, pi) ?? 0
    const vals = new Array<number>(vts.length)
    for (let r = 0; r < p.sampleStack.length; r++) {
      vals.fill(0)
      for (let v = 0; v < colMap.length; v++) vals[colMap[v]!] = p.values[v]![r]!
      const s = p.sampleStack[r]!
      const own = p.labels?.at(r)
      const l = label || own ? { ...(own ?? {}), ...(label ?? {}) } : undefined
      const t = opts.label ? p.times?.[r] : undefined
      b.addSample(s < 0 ? root : stackMap[s]!, vals, t === undefined ? undefined : t + dt, l)
    }
  })
  if (duration && b.meta.durationNs === undefined) b.meta.durationNs = duration
  return b.build()
}

/** One thread's profile and its name (`[main]`, `[worker 1] hasher`). */
export interface ThreadPart {
  name: string
  profile: Profile
  /** When this thread's profile starts, ns into the window. */
  startNs?: number
}

/**
 * The threads of one process as one profile: every stack hangs from a root frame of kind 'thread'
 * named after its thread (so top, flamegraph, analyze and diff see one root per thread), every
 * row carries a `thread` label, and times are moved onto the window's clock. Idle stacks stay
 * outside the thread roots: a thread's total is its CPU, like every other frame's.
 */
export function threadProfiles(parts: readonly ThreadPart[], meta: ProfileMeta): Profile {
  return mergeProfiles(parts.map((t) => t.profile), {
    meta,
    root: (_p, i) => ({ name: parts[i]!.name, kind: 'thread' }),
    label: (_p, i) => ({ thread: parts[i]!.name }),
    timeOffsetNs: (_p, i) => parts[i]!.startNs ?? 0,
  })
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
