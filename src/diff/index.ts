// The model-level diff behind `meshprof diff`: two sides (a file each, or a directory of captures
// each), one row per function / file / module with self and total on both sides, as shares of each
// side's whole profile and, when both sides know their wall-clock window and CPU time, as absolute
// CPU cores. Rows are ranked by |change| (pprof's abs64 sort, graph.go:958-975) with explicit
// tie-breaks so the output is deterministic.
//
// Pure: no I/O, no printing. `diffFindings` (findings.ts), `stackDiff` (stacks.ts) and the renderers
// take over from here.
import type { Frame, Profile } from '../model/types.js'
import { filterProfile, groupKey, stackWeights, totalWeight } from '../model/ops.js'
import { isConnectFrame, isScaffoldingFrame } from '../analyze/classify.js'
import { isOffCpuFrame, offCpuWeight } from '../model/cpu-basis.js'
import { UsageError } from '../util/errors.js'
import {
  DIFF_SCHEMA_VERSION,
  type DiffBasis,
  type DiffBy,
  type DiffInput,
  type DiffNodeInput,
  type DiffOptions,
  type DiffResult,
  type DiffRow,
  type NodeCpu,
  type NodeDiff,
  type RowSide,
  type SideSummary,
} from './types.js'

export * from './types.js'

/** `0x1a2b` -> `0x...`, exactly as difffolded.pl -s / inferno's strip_hex. */
export const HEX_RE = /0x[0-9a-fA-F]+/g

export function stripHexText(s: string): string {
  return s.replace(HEX_RE, '0x...')
}

/** Does any frame of this side carry a file or a line? (folded files do not) */
export function hasLocations(side: DiffInput): boolean {
  return side.nodes.some((n) => n.profile.frames.some((f) => (f.file !== undefined && f.file !== '') || (f.line !== undefined && f.line > 0)))
}

/** Index of a samples/count column, or -1. */
function samplesColumn(p: Profile): number {
  return p.valueTypes.findIndex((vt) => vt.type === 'samples' && vt.unit === 'count')
}

/** Index of a cpu/nanoseconds column, or -1. */
function cpuColumn(p: Profile): number {
  return p.valueTypes.findIndex((vt) => vt.type === 'cpu' && vt.unit === 'nanoseconds')
}

/** Sum of column `v` over on-CPU rows: the one CPU basis's idle rule (src/model/cpu-basis.ts). */
function busyWeight(p: Profile, v: number): number {
  return totalWeight(p, v) - offCpuWeight(p, v)
}

function sumColumn(p: Profile, v: number): number {
  return v < 0 ? 0 : totalWeight(p, v)
}

/** CPU facts of one node from its unfiltered profile. */
export function nodeCpu(n: DiffNodeInput): NodeCpu {
  const p = n.profile
  const v = p.defaultValue
  const total = totalWeight(p, v)
  const busy = busyWeight(p, v)
  const sc = samplesColumn(p)
  const durationNs = p.meta.durationNs !== undefined && p.meta.durationNs > 0 ? p.meta.durationNs : null
  let cpuTimeNs: number | null = null
  let cpuSource: NodeCpu['cpuSource'] = null
  if (p.meta.cpuTimeNs !== undefined && Number.isFinite(p.meta.cpuTimeNs) && p.meta.cpuTimeNs >= 0) {
    cpuTimeNs = p.meta.cpuTimeNs
    cpuSource = 'meta'
  } else if (cpuColumn(p) >= 0) {
    cpuTimeNs = busyWeight(p, cpuColumn(p))
    cpuSource = 'column'
  }
  const vt = p.valueTypes[v]!
  return {
    name: n.name,
    file: n.file,
    format: n.format,
    valueType: { type: vt.type, unit: vt.unit },
    total,
    busy,
    busyShare: total > 0 ? busy / total : 0,
    samples: sc >= 0 ? sumColumn(p, sc) : null,
    durationNs,
    cpuTimeNs,
    cpuSource,
    cores: durationNs !== null && cpuTimeNs !== null ? cpuTimeNs / durationNs : null,
  }
}

/** Why a side cannot be compared in cores, or undefined when it can. */
function coresUnavailable(side: DiffInput, cpus: NodeCpu[]): string | undefined {
  for (const c of cpus) {
    if (c.durationNs === null) return `${side.label}${side.nodes.length > 1 ? ` (${c.name})` : ''} has no duration`
    if (c.cpuTimeNs === null) return `${side.label}${side.nodes.length > 1 ? ` (${c.name})` : ''} has no CPU time (no capture cpuTimeNs, no cpu/nanoseconds column)`
  }
  return undefined
}

interface Acc {
  self: number[]
  total: number[]
  selfCores: number[]
  totalCores: number[]
  busy: number
  samples: number | null
  cores: number
}

function newAcc(): Acc {
  return { self: [], total: [], selfCores: [], totalCores: [], busy: 0, samples: 0, cores: 0 }
}

const add = (a: number[], i: number, x: number) => { a[i] = (a[i] ?? 0) + x }

/** Whether frames match by name only: forced by the option, else when only one side carries file/line. */
function chooseLineMatching(before: DiffInput, after: DiffInput, opt: DiffOptions['stripLines']): { stripLines: boolean; stripLinesReason?: string } {
  if (opt === true) return { stripLines: true, stripLinesReason: '--strip-lines' }
  if (opt === false) return { stripLines: false }
  const hb = hasLocations(before)
  const ha = hasLocations(after)
  if (hb === ha) return { stripLines: false }
  return { stripLines: true, stripLinesReason: `${hb ? after.label : before.label} carries no file/line, so functions are matched by name only` }
}

/** Absolute cores when both sides can give them (and shares were not asked for), else shares. */
function chooseBasis(cpuB: NodeCpu[], cpuA: NodeCpu[], whyNot: string | undefined, want: DiffOptions['basis'] | 'auto', warnings: string[]): { basis: DiffBasis; basisReason: string } {
  if (want === 'shares') return { basis: 'shares', basisReason: 'shares of each profile (--basis shares)' }
  if (whyNot) {
    if (want === 'cores') throw new UsageError(`--basis cores: ${whyNot}`)
    return { basis: 'shares', basisReason: `shares of each profile: ${whyNot}` }
  }
  const src = (cs: NodeCpu[]) => (cs.every((c) => c.cpuSource === 'meta') ? 'measured process CPU' : cs.every((c) => c.cpuSource === 'column') ? 'profile CPU time' : 'mixed CPU sources')
  if (src(cpuB) !== src(cpuA)) {
    warnings.push('the two sides measure CPU differently (process CPU of every thread vs the sampled thread\'s profile CPU time); compare shares too, or use --basis shares')
  }
  return { basis: 'cores', basisReason: `absolute CPU: before ${src(cpuB)}, after ${src(cpuA)}, over each window` }
}

type ValueType = { type: string; unit: string }

/** Each side's value column; warns when nodes of one side, or the two sides, use different columns. */
function valueTypes(before: DiffInput, after: DiffInput, cpuB: NodeCpu[], cpuA: NodeCpu[], warnings: string[]): { vtB: ValueType; vtA: ValueType } {
  for (const [label, cs] of [[before.label, cpuB], [after.label, cpuA]] as const) {
    const kinds = new Set(cs.map((c) => `${c.valueType.type}/${c.valueType.unit}`))
    if (kinds.size > 1) warnings.push(`${label}: nodes use different value columns (${[...kinds].join(', ')}); merged shares mix them`)
  }
  const vtB = cpuB[0]?.valueType ?? { type: 'samples', unit: 'count' }
  const vtA = cpuA[0]?.valueType ?? { type: 'samples', unit: 'count' }
  if (vtB.unit !== vtA.unit) warnings.push(`shares compare different value columns: before ${vtB.type}/${vtB.unit}, after ${vtA.type}/${vtA.unit}`)
  return { vtB, vtA }
}

/** The keys rows are matched by (one per function, file, module... per `by`), shared by both sides. */
interface KeyTable {
  keys: string[]
  /** a representative frame per key: the first seen, or the first with a file */
  reps: Frame[]
  intern(f: Frame): number
}

function keyTable(by: DiffBy, stripLines: boolean, stripHex: boolean): KeyTable {
  const keyIndex = new Map<string, number>()
  const keys: string[] = []
  const reps: Frame[] = []
  const keyOf = (f: Frame): string => {
    const name = stripHex ? stripHexText(f.name) : f.name
    if (by === 'function') {
      if (stripLines) return name
      const file = f.file ? f.file : ''
      const line = f.line && f.line > 0 ? String(f.line) : ''
      return file || line ? `${name} ${file}:${line}` : name
    }
    const k = groupKey(f, by)
    return stripHex ? stripHexText(k) : k
  }
  const intern = (f: Frame): number => {
    const k = keyOf(f)
    let id = keyIndex.get(k)
    if (id === undefined) {
      id = keys.length
      keys.push(k)
      keyIndex.set(k, id)
      reps.push(f)
    } else if (!reps[id]!.file && f.file) {
      reps[id] = f
    }
    return id
  }
  return { keys, reps, intern }
}

/** Self and total weight (and cores) per key over every node of one side, after the filters. */
function accumulate(side: DiffInput, cpus: NodeCpu[], table: KeyTable, basis: DiffBasis, opts: DiffOptions): Acc {
  const filtered = Boolean(opts.focus || opts.ignore || opts.hide || opts.thread)
  const keys = table.keys
  const acc = newAcc()
  side.nodes.forEach((n, ni) => {
    const c = cpus[ni]!
    const p = filtered ? filterProfile(n.profile, { focus: opts.focus, ignore: opts.ignore, hide: opts.hide, thread: opts.thread }) : n.profile
    const v = p.defaultValue
    const busy = filtered ? busyWeight(p, v) : c.busy
    acc.busy += busy
    const sc = samplesColumn(p)
    acc.samples = acc.samples === null || sc < 0 ? null : acc.samples + sumColumn(p, sc)
    const fk = p.frames.map(table.intern)
    const w = stackWeights(p, v)
    // Cores: the node's cores spread over its busy weight in the cpu/nanoseconds column when there
    // is one (exact CPU time per stack), else in the share column. Idle-leaf stacks add no cores.
    const cc = basis === 'cores' ? (cpuColumn(p) >= 0 ? cpuColumn(p) : v) : -1
    const wc = cc < 0 ? undefined : cc === v ? w : stackWeights(p, cc)
    const idle = cc < 0 ? [] : p.frames.map((f) => isOffCpuFrame(f))
    let scale = 0
    if (cc >= 0) {
      const busyAll = busyWeight(n.profile, cc)
      scale = busyAll > 0 ? c.cores! / busyAll : 0
      acc.cores += filtered ? busyWeight(p, cc) * scale : c.cores!
    }
    // Node-local sums of exact weights, scaled once at the end: the result does not depend on the
    // order stacks were interned in (two formats of one profile give bit-identical cores).
    const selfC = cc < 0 ? [] : new Array<number>(keys.length).fill(0)
    const totalC = cc < 0 ? [] : new Array<number>(keys.length).fill(0)
    // Recursion counts once per stack in total (as selfTotalBy): stamp the keys seen on this stack.
    const stamp = new Int32Array(keys.length).fill(-1)
    for (let s = 0; s < w.length; s++) {
      const ws = w[s]!
      const leafFrame = p.stackFrame[s]!
      const wcs = wc && !idle[leafFrame] ? wc[s]! : 0
      if (ws === 0 && wcs === 0) continue
      const leafKey = fk[leafFrame]!
      add(acc.self, leafKey, ws)
      if (wc) selfC[leafKey]! += wcs
      for (let a = s; a >= 0; a = p.stackParent[a]!) {
        const k = fk[p.stackFrame[a]!]!
        if (stamp[k] === s) continue
        stamp[k] = s
        add(acc.total, k, ws)
        if (wc) totalC[k]! += wcs
      }
    }
    if (wc) {
      for (let k = 0; k < keys.length; k++) {
        if (selfC[k]) add(acc.selfCores, k, selfC[k]! * scale)
        if (totalC[k]) add(acc.totalCores, k, totalC[k]! * scale)
      }
    }
  })
  return acc
}

function sideSummary(side: DiffInput, cpus: NodeCpu[], acc: Acc, vt: ValueType, basis: DiffBasis): SideSummary {
  const total = cpus.reduce((t, c) => t + c.total, 0)
  const durs = cpus.map((c) => c.durationNs).filter((d): d is number => d !== null)
  return {
    label: side.label,
    formats: [...new Set(side.nodes.map((n) => n.format))],
    nodes: cpus,
    valueType: vt,
    total,
    busy: acc.busy,
    busyShare: total > 0 ? acc.busy / total : 0,
    samples: acc.samples,
    cores: basis === 'cores' ? acc.cores : null,
    durationNs: durs.length === cpus.length && durs.length > 0 ? Math.max(...durs) : null,
  }
}

interface RowInputs {
  table: KeyTable
  accB: Acc
  accA: Acc
  sumB: SideSummary
  sumA: SideSummary
  basis: DiffBasis
  by: DiffBy
  stripLines: boolean
  stripHex: boolean
}

/** One row per key present on either side, with its status and whether it is mere context. */
function buildRows({ table, accB, accA, sumB, sumA, basis, by, stripLines, stripHex }: RowInputs): { rows: DiffRow[]; appeared: number; gone: number } {
  const { keys, reps } = table
  const side = (acc: Acc, total: number, k: number): RowSide => {
    const self = acc.self[k] ?? 0
    const tot = acc.total[k] ?? 0
    return {
      self,
      total: tot,
      selfShare: total > 0 ? self / total : 0,
      totalShare: total > 0 ? tot / total : 0,
      selfCores: basis === 'cores' ? (acc.selfCores[k] ?? 0) : null,
      totalCores: basis === 'cores' ? (acc.totalCores[k] ?? 0) : null,
    }
  }
  // a frame under at least CONTEXT_COVER of all a side's samples is scaffolding on that side
  const covers = (acc: Acc, total: number, k: number) => total > 0 && (acc.total[k] ?? 0) >= CONTEXT_COVER * total
  // runtime scaffolding (tokio's task polls, Instrumented::poll, std's thread start) whose change is
  // its callees' change, not its own self time: the callees explain it
  const passThrough = (name: string, d: DiffRow['delta']) => {
    const [self, total] = basis === 'cores' ? [d.selfCores!, d.totalCores!] : [d.selfShare, d.totalShare]
    return Math.abs(self) <= 0.1 * Math.abs(total) && isScaffoldingFrame(name)
  }
  const rows: DiffRow[] = []
  let appeared = 0
  let gone = 0
  for (let k = 0; k < keys.length; k++) {
    const b = side(accB, sumB.total, k)
    const a = side(accA, sumA.total, k)
    if (b.total === 0 && a.total === 0 && b.self === 0 && a.self === 0) continue
    const f = reps[k]!
    const delta = {
      selfShare: a.selfShare - b.selfShare,
      totalShare: a.totalShare - b.totalShare,
      selfCores: basis === 'cores' ? a.selfCores! - b.selfCores! : null,
      totalCores: basis === 'cores' ? a.totalCores! - b.totalCores! : null,
    }
    const main = basis === 'cores' ? delta.totalCores! : delta.totalShare
    const status: DiffRow['status'] = b.total === 0 ? 'appeared' : a.total === 0 ? 'gone' : main > 0 ? 'grew' : main < 0 ? 'shrank' : 'same'
    if (status === 'appeared') appeared++
    if (status === 'gone') gone++
    const name = by === 'function' ? (stripHex ? stripHexText(f.name) : f.name) : keys[k]!
    rows.push({
      key: keys[k]!,
      name,
      ...(by === 'function' && !stripLines && f.file ? { file: f.file } : {}),
      ...(by === 'function' && !stripLines && f.line ? { line: f.line } : {}),
      ...(f.module !== undefined ? { module: f.module } : {}),
      kind: f.kind,
      connect: by === 'function' ? isConnectFrame({ ...f, name }) : isConnectFrame(name),
      context: (f.kind === 'program' && f.name !== '(program)') || f.kind === 'thread' || (covers(accB, sumB.total, k) && covers(accA, sumA.total, k)) || passThrough(f.name, delta),
      before: b,
      after: a,
      delta,
      status,
    })
  }
  return { rows, appeared, gone }
}

function cpuChange(basis: DiffBasis, sumB: SideSummary, sumA: SideSummary): DiffResult['cpu'] {
  return basis === 'cores'
    ? { unit: 'cores', before: sumB.cores!, after: sumA.cores!, change: sumB.cores! > 0 ? sumA.cores! / sumB.cores! - 1 : sumA.cores! > 0 ? Infinity : 0 }
    : { unit: 'busy-share', before: sumB.busyShare, after: sumA.busyShare, change: sumA.busyShare - sumB.busyShare }
}

/**
 * Compare two sides. Shares are fractions of each side's whole unfiltered total (filters narrow what
 * is compared, not the denominator, as pprof's -focus percentages), so --focus keeps shares meaningful.
 */
export function diff(before: DiffInput, after: DiffInput, opts: DiffOptions = {}): DiffResult {
  const by = opts.by ?? 'function'
  const sort = opts.sort ?? 'total'
  const stripHex = opts.stripHex ?? false
  const warnings: string[] = []
  const { stripLines, stripLinesReason } = chooseLineMatching(before, after, opts.stripLines)

  const cpuB = before.nodes.map(nodeCpu)
  const cpuA = after.nodes.map(nodeCpu)
  const whyNot = coresUnavailable(before, cpuB) ?? coresUnavailable(after, cpuA)
  const { basis, basisReason } = chooseBasis(cpuB, cpuA, whyNot, opts.basis ?? 'auto', warnings)
  const { vtB, vtA } = valueTypes(before, after, cpuB, cpuA, warnings)

  const table = keyTable(by, stripLines, stripHex)
  const accB = accumulate(before, cpuB, table, basis, opts)
  const accA = accumulate(after, cpuA, table, basis, opts)
  const sumB = sideSummary(before, cpuB, accB, vtB, basis)
  const sumA = sideSummary(after, cpuA, accA, vtA, basis)

  const { rows, appeared, gone } = buildRows({ table, accB, accA, sumB, sumA, basis, by, stripLines, stripHex })
  sortRows(rows, basis, sort)
  // per-node breakdown for mesh-wide inputs
  const nodes = before.nodes.length > 1 || after.nodes.length > 1 ? pairNodes(cpuB, cpuA) : undefined

  return {
    schemaVersion: DIFF_SCHEMA_VERSION,
    basis,
    basisReason,
    by,
    stripLines,
    ...(stripLinesReason ? { stripLinesReason } : {}),
    stripHex,
    sort,
    filters: {
      ...(opts.focus ? { focus: opts.focus.source } : {}),
      ...(opts.ignore ? { ignore: opts.ignore.source } : {}),
      ...(opts.hide ? { hide: opts.hide.source } : {}),
      ...(opts.thread ? { thread: opts.thread.source } : {}),
    },
    before: sumB,
    after: sumA,
    cpu: cpuChange(basis, sumB, sumA),
    rows,
    appeared,
    gone,
    ...(nodes ? { nodes } : {}),
    findings: { available: false, resolved: [], new: [], unchanged: [] },
    warnings,
  }
}

export function rowChange(r: DiffRow, basis: DiffBasis, which: 'total' | 'self'): number {
  if (basis === 'cores') return which === 'total' ? r.delta.totalCores! : r.delta.selfCores!
  return which === 'total' ? r.delta.totalShare : r.delta.selfShare
}

/** Part of a side's samples a frame must sit over, on both sides, to be context (see DiffRow.context). */
export const CONTEXT_COVER = 0.9

/**
 * Rows that explain the change first, context rows (under nearly everything on both sides) after them;
 * within each: |change| of the sort key desc, then |change| of the other desc, then larger presence,
 * then key. In cores a thread root's change is the whole CPU change, so without the context rule the
 * thread name and the runtime's task poll would always lead.
 */
export function sortRows(rows: DiffRow[], basis: DiffBasis, sort: 'total' | 'self'): void {
  const other = sort === 'total' ? 'self' : 'total'
  const presence = (r: DiffRow) => Math.max(r.before.totalShare, r.after.totalShare)
  rows.sort(
    (x, y) =>
      Number(x.context) - Number(y.context) ||
      Math.abs(rowChange(y, basis, sort)) - Math.abs(rowChange(x, basis, sort)) ||
      Math.abs(rowChange(y, basis, other)) - Math.abs(rowChange(x, basis, other)) ||
      presence(y) - presence(x) ||
      (x.key < y.key ? -1 : x.key > y.key ? 1 : 0),
  )
}

/** Pair nodes across sides by name (process name from the capture); repeated names by order. */
function pairNodes(b: NodeCpu[], a: NodeCpu[]): NodeDiff[] {
  const label = (cs: NodeCpu[]) => {
    const seen = new Map<string, number>()
    return cs.map((c) => {
      const n = (seen.get(c.name) ?? 0) + 1
      seen.set(c.name, n)
      return n === 1 ? c.name : `${c.name} #${n}`
    })
  }
  const lb = label(b)
  const la = label(a)
  const brief = (c: NodeCpu) => ({ cores: c.cores, busyShare: c.busyShare, samples: c.samples })
  const out: NodeDiff[] = []
  const names = [...new Set([...lb, ...la])].sort()
  for (const name of names) {
    const ib = lb.indexOf(name)
    const ia = la.indexOf(name)
    out.push({ name, before: ib >= 0 ? brief(b[ib]!) : null, after: ia >= 0 ? brief(a[ia]!) : null })
  }
  return out
}
