// V8 CPU profiles: `node --cpu-prof`, Chrome DevTools "Save profile", the inspector's
// `Profiler.stop` result (`{ profile: {...} }`), the old tree format (`head`, `timestamps`) of
// Node <= 10 tools, and DevTools traces that carry a `CpuProfile` event or `Profile` +
// `ProfileChunk` events (one profile per pid + profile id).
//
// Every sample becomes one row with its timestamp (ns since the profile's startTime) and two
// values: samples/count (1) and cpu/nanoseconds, the time from this sample to the next one (the
// last sample runs to endTime), which is how DevTools computes self time. `(root)` is dropped from
// stacks; `(idle)`, `(garbage collector)` and `(program)` are kept as frames of kind idle, gc,
// program. Line and column numbers are 0-based in V8 and 1-based in the model. Samples that V8
// wrote out of time order (negative timeDeltas) are sorted first, as DevTools does.
//
// The plain `--cpu-prof` shape is read by a byte scanner (cpuprofile-scan.ts) straight into
// columns; every other shape goes through JSON.parse and the same builder.
import { isUtf8 } from 'node:buffer'
import { frameKey } from '../model/builder.js'
import type { Frame, FrameKind, Profile, ValueType } from '../model/types.js'
import { MalformedInputError } from '../util/errors.js'
import { StackTrie } from './stack-trie.js'
import { scanCpuprofile, type NodeTable } from './cpuprofile-scan.js'
import type { ImportOptions, Importer } from './types.js'
import { jsModuleOf } from './shared.js'
import { jsFrame } from './js-frame.js'
import { sniffCpuprofile } from './detect.js'

interface CallFrame {
  functionName?: string
  url?: string
  lineNumber?: number
  columnNumber?: number
  scriptId?: string | number
}

/** A node as JSON.parse returns it (traces and the old tree format go through this path). */
interface CpuNode {
  id: number
  callFrame: CallFrame
  children?: unknown
  parent?: number
}

/** A cpuprofile in the current (flat nodes) shape; times in microseconds. */
interface FlatProfile {
  nodes: NodeTable
  samples: ArrayLike<number>
  /** Sample times, µs, absolute (same clock as startTime). */
  times: Float64Array
  startTime: number
  endTime: number
  name?: string
}

const VALUE_TYPES: ValueType[] = [
  { type: 'samples', unit: 'count' },
  { type: 'cpu', unit: 'nanoseconds' },
]

export { jsModuleOf }

export function frameOf(cf: CallFrame): Frame | undefined {
  const fn = typeof cf.functionName === 'string' ? cf.functionName : ''
  if (fn === '(root)') return undefined
  const url = typeof cf.url === 'string' ? cf.url : ''
  const line = typeof cf.lineNumber === 'number' && cf.lineNumber >= 0 ? cf.lineNumber + 1 : undefined
  const col = typeof cf.columnNumber === 'number' && cf.columnNumber >= 0 ? cf.columnNumber + 1 : undefined
  let kind: FrameKind
  if (fn === '(idle)') kind = 'idle'
  else if (fn === '(garbage collector)') kind = 'gc'
  else if (fn === '(program)') kind = 'program'
  // Builtins and native bindings have no script (no URL, no position); eval'd and inline
  // scripts have no URL but a position, and are JavaScript.
  else if (url === '' && line === undefined) kind = 'native'
  else kind = 'js'
  if (kind !== 'js') return { name: fn === '' ? '(anonymous)' : fn, kind }
  return { ...jsFrame(fn, url, line, col), kind }
}

function makeFrame(fn: string, url: string, line: number | undefined, col: number | undefined): Frame | undefined {
  return frameOf({ functionName: fn, url, lineNumber: line, columnNumber: col })
}

export const cpuprofileImporter: Importer = {
  id: 'cpuprofile',
  title: 'V8 .cpuprofile (Node --cpu-prof, Chrome DevTools, inspector)',
  sniff: sniffCpuprofile,
  async parse(input, options) {
    const buf = await input.readAll()
    return parseCpuprofileBuffer(buf, input.name, options)
  },
}

/** Parse a .cpuprofile (any of the shapes above) held in memory. */
export function parseCpuprofileBuffer(buf: Buffer, name: string, options: ImportOptions = {}): Profile[] {
  if (buf.length === 0) throw new MalformedInputError('cpuprofile', `${name} is empty`)
  if (!isUtf8(buf)) options.warn?.(`${name}: invalid UTF-8; bad bytes replaced with U+FFFD`)
  // Fast path: the plain shape straight from bytes into columns.
  const scanned = scanCpuprofile(buf, makeFrame)
  if (scanned) {
    const samples = scanned.samples
    const deltas = scanned.timeDeltas
    if (deltas && deltas.length !== samples.length) throw bad(name, `${samples.length} samples but ${deltas.length} timeDeltas`)
    const startTime = scanned.startTime ?? 0
    const times = timesFrom(samples.length, deltas, startTime)
    const endTime = scanned.endTime ?? (samples.length ? times[samples.length - 1]! : startTime)
    return [buildProfile({ nodes: scanned.nodes, samples, times, startTime, endTime }, baseName(name), name)]
  }
  let json: unknown
  try {
    json = JSON.parse(buf.toString('utf8'))
  } catch (e) {
    throw new MalformedInputError('cpuprofile', `${name}: not valid JSON (${(e as Error).message})`)
  }
  return parseCpuprofileJson(json, name)
}

function timesFrom(n: number, deltas: ArrayLike<number> | undefined, startTime: number): Float64Array {
  const times = new Float64Array(n)
  let t = startTime
  for (let i = 0; i < n; i++) {
    t += deltas ? deltas[i]! : 0
    times[i] = t
  }
  return times
}

/** Call-frame objects (JSON.parse path) -> the columnar node table the builder reads. */
function tableFromNodes(nodes: unknown[], name: string): NodeTable {
  const n = nodes.length
  const id = new Float64Array(n)
  const frame = new Int32Array(n)
  const parent = new Float64Array(n).fill(NaN)
  const childStart = new Int32Array(n + 1)
  const kids: number[] = []
  const frames: Frame[] = []
  const frameIds = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const nd = nodes[i]
    if (!isObj(nd) || typeof nd.id !== 'number') throw bad(name, `node ${i} has no numeric id`)
    id[i] = nd.id
    if (typeof nd.parent === 'number') parent[i] = nd.parent
    childStart[i] = kids.length
    if (nd.children !== undefined) {
      if (!Array.isArray(nd.children)) throw bad(name, `children of node ${nd.id} is not an array`)
      for (const c of nd.children) kids.push(typeof c === 'number' ? c : NaN)
    }
    if (!isObj(nd.callFrame)) throw bad(name, `node ${nd.id} has no callFrame object`)
    const fr = frameOf(nd.callFrame as CallFrame)
    if (!fr) { frame[i] = -1; continue }
    const k = frameKey(fr)
    let f = frameIds.get(k)
    if (f === undefined) {
      f = frames.length
      frames.push(Object.freeze(fr))
      frameIds.set(k, f)
    }
    frame[i] = f
  }
  childStart[n] = kids.length
  return { n, id, frame, parent, childStart, childIds: Float64Array.from(kids), frames }
}

export function parseCpuprofileJson(json: unknown, name: string): Profile[] {
  const flats = toFlat(json, name)
  if (flats.length === 0) throw new MalformedInputError('cpuprofile', `${name}: no CPU profile in this JSON`)
  return flats.map((f, i) => buildProfile(f, flats.length > 1 ? `${baseName(name)} #${i + 1}${f.name ? ` (${f.name})` : ''}` : baseName(name), name))
}

function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'))
  return i >= 0 ? p.slice(i + 1) : p
}

function bad(name: string, detail: string): MalformedInputError {
  return new MalformedInputError('cpuprofile', `${name}: ${detail}`)
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function numArray(x: unknown, what: string, name: string): number[] {
  if (x === undefined) return []
  if (!Array.isArray(x)) throw bad(name, `${what} is not an array`)
  for (let i = 0; i < x.length; i++) if (typeof x[i] !== 'number' || !Number.isFinite(x[i])) throw bad(name, `${what}[${i}] is not a number`)
  return x as number[]
}

/** Normalise every accepted shape into flat profiles with absolute sample times. */
function toFlat(json: unknown, name: string): FlatProfile[] {
  if (isObj(json)) {
    if (Array.isArray(json.nodes)) return [flatFromCurrent(json, name)]
    if (isObj(json.profile) && Array.isArray(json.profile.nodes)) return [flatFromCurrent(json.profile, name)]
    if (isObj(json.head)) return [flatFromLegacy(json, name)]
    if (Array.isArray(json.traceEvents)) return flatFromTrace(json.traceEvents, name)
    throw bad(name, 'JSON object has neither "nodes" (cpuprofile), "head" (old V8 format) nor "traceEvents"')
  }
  if (Array.isArray(json)) return flatFromTrace(json, name)
  throw bad(name, 'not a JSON object')
}

function flatFromCurrent(o: Record<string, unknown>, name: string, label?: string): FlatProfile {
  const nodes = tableFromNodes(o.nodes as unknown[], name)
  const samples = numArray(o.samples, 'samples', name)
  const deltas = numArray(o.timeDeltas, 'timeDeltas', name)
  const startTime = typeof o.startTime === 'number' && Number.isFinite(o.startTime) ? o.startTime : 0
  if (deltas.length !== 0 && deltas.length !== samples.length) throw bad(name, `${samples.length} samples but ${deltas.length} timeDeltas`)
  const times = timesFrom(samples.length, deltas.length ? deltas : undefined, startTime)
  const last = samples.length ? times[samples.length - 1]! : startTime
  const endTime = typeof o.endTime === 'number' && Number.isFinite(o.endTime) ? o.endTime : last
  return { nodes, samples, times, startTime, endTime, ...(label ? { name: label } : {}) }
}

/** Node <= 10 (`v8-profiler`): a nested `head` tree, `timestamps` in µs, start/end in seconds. */
function flatFromLegacy(o: Record<string, unknown>, name: string): FlatProfile {
  const nodes: CpuNode[] = []
  // Iterative walk: a 50,000-deep tree must not overflow the stack.
  const todo: { n: unknown; parent: number | undefined }[] = [{ n: o.head, parent: undefined }]
  while (todo.length) {
    const { n, parent } = todo.pop()!
    if (!isObj(n) || typeof n.id !== 'number') throw bad(name, 'tree node without a numeric id')
    const id = n.id
    nodes.push({ id, callFrame: { functionName: n.functionName as string, url: n.url as string, lineNumber: n.lineNumber as number, columnNumber: n.columnNumber as number }, ...(parent !== undefined ? { parent } : {}) })
    const kids = n.children
    if (kids !== undefined && !Array.isArray(kids)) throw bad(name, `children of node ${id} is not an array`)
    if (kids) for (let i = kids.length - 1; i >= 0; i--) todo.push({ n: kids[i], parent: id })
  }
  const samples = numArray(o.samples, 'samples', name)
  const ts = numArray(o.timestamps, 'timestamps', name)
  const toUs = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? (x < 1e11 ? x * 1e6 : x) : undefined)
  // Some writers put the start time first (one more timestamp than samples).
  const off = ts.length === samples.length + 1 ? 1 : 0
  if (ts.length && ts.length - off !== samples.length) throw bad(name, `${samples.length} samples but ${ts.length} timestamps`)
  const times = new Float64Array(samples.length)
  for (let i = 0; i < samples.length; i++) times[i] = ts.length ? ts[i + off]! : 0
  const startTime = off ? ts[0]! : ts.length ? Math.min(ts[0]!, toUs(o.startTime) ?? ts[0]!) : toUs(o.startTime) ?? 0
  const last = samples.length ? times[samples.length - 1]! : startTime
  const endUs = toUs(o.endTime)
  const endTime = endUs !== undefined && endUs >= last ? endUs : last
  return { nodes: tableFromNodes(nodes, name), samples, times, startTime, endTime }
}

/** DevTools Performance traces: `CpuProfile` events, or `Profile` + `ProfileChunk` streams. */
function flatFromTrace(events: unknown[], name: string): FlatProfile[] {
  const out: FlatProfile[] = []
  interface Acc { nodes: CpuNode[]; samples: number[]; deltas: number[]; startTime: number; endTime?: number; label: string }
  const streams = new Map<string, Acc>()
  const order: string[] = []
  const threadNames = new Map<string, string>()
  const evs: Record<string, unknown>[] = []
  for (const e of events) {
    if (!isObj(e)) continue
    if (e.name === 'thread_name' && isObj(e.args) && typeof e.args.name === 'string') threadNames.set(`${e.pid}:${e.tid}`, e.args.name)
    if ((e.name === 'CpuProfile' || e.name === 'Profile' || e.name === 'ProfileChunk') && isObj(e.args) && isObj(e.args.data)) evs.push(e)
  }
  // Trace files are not in time order; chunks must be appended in it (stable sort by ts).
  const ts = (e: Record<string, unknown>) => (typeof e.ts === 'number' ? e.ts : 0)
  evs.sort((a, b) => ts(a) - ts(b))
  const accOf = (e: Record<string, unknown>, startTime: number): Acc => {
    const key = `${e.pid}:${e.id}`
    let acc = streams.get(key)
    if (!acc) {
      acc = { nodes: [], samples: [], deltas: [], startTime, label: threadNames.get(`${e.pid}:${e.tid}`) ?? `pid ${e.pid}` }
      streams.set(key, acc)
      order.push(key)
    }
    return acc
  }
  for (const e of evs) {
    const data = (e.args as Record<string, unknown>).data as Record<string, unknown>
    if (e.name === 'CpuProfile') {
      if (isObj(data.cpuProfile) && Array.isArray(data.cpuProfile.nodes)) out.push(flatFromCurrent(data.cpuProfile, name, threadNames.get(`${e.pid}:${e.tid}`)))
      continue
    }
    if (e.name === 'Profile') {
      const acc = accOf(e, typeof data.startTime === 'number' ? data.startTime : 0)
      if (typeof data.startTime === 'number') acc.startTime = data.startTime
      continue
    }
    const acc = accOf(e, 0)
    const cp = data.cpuProfile
    if (isObj(cp)) {
      if (Array.isArray(cp.nodes)) for (const n of cp.nodes) acc.nodes.push(n as CpuNode)
      for (const s of numArray(cp.samples, 'ProfileChunk samples', name)) acc.samples.push(s)
    }
    for (const d of numArray(data.timeDeltas, 'ProfileChunk timeDeltas', name)) acc.deltas.push(d)
    if (typeof data.endTime === 'number') acc.endTime = data.endTime
  }
  for (const key of order) {
    const a = streams.get(key)!
    if (a.samples.length === 0 && a.nodes.length === 0) continue
    out.push(flatFromCurrent({ nodes: a.nodes, samples: a.samples, timeDeltas: a.deltas, startTime: a.startTime, ...(a.endTime !== undefined ? { endTime: a.endTime } : {}) }, name, a.label))
  }
  return out
}

/** V8 can emit samples slightly out of time order (negative timeDeltas): sort them, as DevTools does. */
function sortByTime(f: FlatProfile): FlatProfile {
  const t = f.times
  let sorted = true
  for (let i = 1; i < t.length && sorted; i++) if (t[i]! < t[i - 1]!) sorted = false
  if (sorted) return f
  const order = Array.from({ length: t.length }, (_, i) => i)
  order.sort((a, b) => t[a]! - t[b]! || a - b)
  const samples = new Float64Array(t.length)
  const times = new Float64Array(t.length)
  for (let i = 0; i < order.length; i++) {
    samples[i] = f.samples[order[i]!]!
    times[i] = t[order[i]!]!
  }
  return { ...f, samples, times }
}

function buildProfile(f0: FlatProfile, displayName: string, fileName: string): Profile {
  const f = sortByTime(f0)
  const t0 = f.nodes
  const n = t0.n
  // node id -> index
  let maxId = 0
  for (let i = 0; i < n; i++) {
    const id = t0.id[i]!
    if (!Number.isInteger(id) || id < 0) throw bad(fileName, `node ${i} has no valid id`)
    if (id > maxId) maxId = id
  }
  const dense = maxId <= n * 4 + 1024
  const idxArr = dense ? new Int32Array(maxId + 1).fill(-1) : undefined
  const idxMap = dense ? undefined : new Map<number, number>()
  for (let i = 0; i < n; i++) {
    const id = t0.id[i]!
    if (idxArr) {
      if (idxArr[id] !== -1) throw bad(fileName, `duplicate node id ${id}`)
      idxArr[id] = i
    } else {
      if (idxMap!.has(id)) throw bad(fileName, `duplicate node id ${id}`)
      idxMap!.set(id, i)
    }
  }
  const indexOf = (id: number): number => (idxArr ? (id >= 0 && id < idxArr.length ? idxArr[id] ?? -1 : -1) : idxMap!.get(id) ?? -1)
  // parent index per node
  const parent = new Int32Array(n).fill(-1)
  for (let i = 0; i < n; i++) {
    const pid = t0.parent[i]!
    if (!Number.isNaN(pid)) {
      const p = indexOf(pid)
      if (p < 0) throw bad(fileName, `node ${t0.id[i]} names parent ${pid}, which does not exist`)
      parent[i] = p
    }
  }
  for (let i = 0; i < n; i++) {
    for (let k = t0.childStart[i]!; k < t0.childStart[i + 1]!; k++) {
      const c = t0.childIds[k]!
      const ci = Number.isInteger(c) ? indexOf(c) : -1
      if (ci < 0) throw bad(fileName, `node ${t0.id[i]} names child ${c}, which does not exist`)
      parent[ci] = i
    }
  }
  const frames = t0.frames
  const nodeFrame = t0.frame
  // stack per node, iteratively (parents may come after children in the array; chains can be deep)
  const trie = new StackTrie(n + 16)
  const nodeStack = new Int32Array(n).fill(-2)
  const chain: number[] = []
  for (let i = 0; i < n; i++) {
    if (nodeStack[i] !== -2) continue
    chain.length = 0
    let a = i
    while (a >= 0 && nodeStack[a] === -2) {
      chain.push(a)
      nodeStack[a] = -3 // in progress: meeting it again means a cycle
      a = parent[a]!
      if (a >= 0 && nodeStack[a] === -3) throw bad(fileName, `the node tree has a cycle (node ${t0.id[a]})`)
    }
    let s = a < 0 ? -1 : nodeStack[a]!
    for (let j = chain.length - 1; j >= 0; j--) {
      const c = chain[j]!
      const fr = nodeFrame[c]!
      if (fr >= 0) s = trie.child(s, fr)
      nodeStack[c] = s
    }
  }
  // samples
  const ns = f.samples.length
  const sampleStack = new Int32Array(ns)
  for (let i = 0; i < ns; i++) {
    const ni = indexOf(f.samples[i]!)
    if (ni < 0) throw bad(fileName, `sample ${i} names node ${f.samples[i]}, which does not exist`)
    sampleStack[i] = nodeStack[ni]!
  }
  const count = new Float64Array(ns).fill(1)
  const cpu = new Float64Array(ns)
  const times = new Float64Array(ns)
  const t = f.times
  for (let i = 0; i < ns; i++) {
    const next = i + 1 < ns ? t[i + 1]! : f.endTime
    const d = next - t[i]!
    cpu[i] = d > 0 ? d * 1000 : 0
    const rel = (t[i]! - f.startTime) * 1000
    times[i] = rel > 0 ? rel : 0
  }
  const { stackFrame, stackParent } = trie.arrays()
  const durationUs = f.endTime - f.startTime
  return {
    frames,
    stackFrame,
    stackParent,
    sampleStack,
    values: [count, cpu],
    valueTypes: VALUE_TYPES,
    defaultValue: 1,
    times,
    meta: {
      name: displayName,
      sourceFormat: 'cpuprofile',
      ...(durationUs > 0 ? { durationNs: Math.round(durationUs * 1000) } : {}),
      ...(ns > 1 && t[ns - 1]! > t[0]! ? { periodNs: Math.round(((t[ns - 1]! - t[0]!) / (ns - 1)) * 1000) } : {}),
      ...(f.name ? { extra: { thread: f.name } } : {}),
    },
  }
}
