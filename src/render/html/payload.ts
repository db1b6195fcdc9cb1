// Profile (or a before/after pair) -> the compact payload the flamegraph page draws from.
//
// The call tree is aggregated by merging identical frame paths (same display frame under the same
// parent), children are sorted by name (FlameGraph order), and the tree is shipped in preorder as
// parallel number arrays: depth, frame, self weight. The page rebuilds parents, totals and subtree
// ends in two linear passes. Every node with weight is kept: nothing is dropped for being small.
import type { Frame, FrameKind, Profile } from '../../model/types.js'
import { isConnectFrame } from '../../analyze/classify.js'
import { cpuBasis } from '../../model/cpu-basis.js'
import { F64List, I32List } from '../../model/growable.js'

export const KINDS: readonly FrameKind[] = ['js', 'native', 'kernel', 'gc', 'idle', 'program', 'thread', 'unknown']

/** A finding as analyze hands it to the page. */
export interface FindingLike {
  ruleId: string
  severity: string
  title: string
  share?: number
  /**
   * Frames the finding is about: exact frame names, or regexes. An entry equal to some frame's
   * name matches that name exactly (so `(anonymous)` is a name); any other entry is a regex.
   */
  frames?: string[]
  /** One line of explanation, shown under the title. */
  message?: string
}

export interface PayloadMeta {
  name?: string
  pid?: number
  command?: string
  durationNs?: number
  cpuTimeNs?: number
  periodNs?: number
  backend?: string
  sourceFormat?: string
  startTimeNs?: number
  /** The one CPU basis (src/model/cpu-basis.ts): the process's cores, where they come from, in words. */
  cores?: number
  coresFrom?: 'measured' | 'samples'
  weights?: string
  basis?: string
}

/** One value column shipped to the page. */
export interface PayloadColumn {
  type: string
  unit: string
}

export interface FlamePayload {
  v: 1
  mode: 'flame' | 'diff'
  title: string
  icicle: boolean
  highlight?: string
  /** Per frame (as fName): 1 when isConnectFrame says connect/handshake/TLS, so the page colours by the rule analyze uses. */
  fConn: number[]
  meta: PayloadMeta
  /** meta of the before-profile (diff). */
  beforeMeta?: PayloadMeta
  /** Primary column (the profile's default value) and an optional second one (time vs samples). */
  cols: PayloadColumn[]
  /** ns per unit of the primary column when it counts samples and the period is known. */
  periodNs?: number
  /** Sample rows in the profile(s) (not the weight). */
  rows: number
  beforeRows?: number
  strs: string[]
  /** Frame table, parallel arrays: name/file/module are indexes into strs (-1 = none), line 0 = none. */
  fName: number[]
  fFile: number[]
  fLine: number[]
  fMod: number[]
  /** Index into KINDS. */
  fKind: number[]
  kinds: readonly string[]
  /** Number of tree nodes (without the root). */
  nodes: number
  /**
   * Preorder tree without the root: depth (root's children = 0), display frame, self weight.
   * Each column is a VLQ string (see encodeColumn) or, for fractional weights, a number array.
   */
  depth: string | number[]
  frame: string | number[]
  self: string | number[]
  /** Self weight of the second column, when there is one. */
  self2?: string | number[]
  /** Weight of samples with an empty stack (root self). */
  rootSelf: number
  rootSelf2?: number
  /** diff: the before-profile's self weight per node (self is then the after-profile's). */
  bself?: string | number[]
  bRootSelf?: number
  normalize?: 'share' | 'absolute'
  findings: FindingLike[]
}

/** Display identity of a frame: frames equal under this key are one box in the graph. */
type FrameKeyFn = (f: Frame) => string

const fullKey: FrameKeyFn = (f) => `${f.name}\u0000${f.file ?? ''}\u0000${f.line ?? ''}\u0000${f.module ?? ''}\u0000${f.kind}`

/** `handler (server.js:42)` / `server.js:42:7` -> without the line (diff --strip-lines). */
export function stripLineSuffix(name: string): string {
  return name.replace(/:\d+(?::\d+)?(\)?)$/, '$1')
}

const strippedKey: FrameKeyFn = (f) => stripLineSuffix(f.name)
/** Diff: matched by name and source position only, so two formats of one profile line up. */
const diffKey: FrameKeyFn = (f) => `${f.name}\u0000${f.file ?? ''}\u0000${f.line ?? ''}`

export interface TreeInput {
  profile: Profile
  /** Value columns of the profile to read ... */
  values: number[]
  /** ... and the tree's self columns they go into. */
  into: number[]
}

interface EmittedTree {
  depth: Int32Array
  frame: Int32Array
  selfCols: Float64Array[]
  rootSelf: number[]
  /** Display frames in payload order (payload frame id i = frames[frameOrder[i]]). */
  frameOrder: number[]
  frames: Frame[]
  /** Two siblings with the same frame were found (a profile whose trie is not unique). */
  dupes: boolean
}

/**
 * Builds the merged call tree of one or more profiles. Children are found through an
 * open-addressing hash on (parent node, display frame). The first profile added to an empty tree
 * whose frames map one-to-one onto display frames takes a direct path (tree node = live stack),
 * because a ProfileBuilder trie already has one node per (parent, frame); emit() verifies that and
 * buildTree() redoes the work through the hash if it did not hold.
 */
class TreeAcc {
  readonly frames: Frame[] = []
  private frameIds = new Map<string, number>()
  readonly parent = new I32List(1024)
  readonly frame = new I32List(1024)
  readonly selfCols: F64List[] = []
  private hKeyP = new Int32Array(1 << 12).fill(-1)
  private hKeyF = new Int32Array(1 << 12)
  private hVal = new Int32Array(1 << 12)
  /** Nodes [1, hashedUpTo) are in the hash. */
  private hashedUpTo = 1

  constructor(private readonly keyOf: FrameKeyFn, ncols: number, private readonly allowDirect: boolean) {
    this.parent.push(-1)
    this.frame.push(-1)
    for (let i = 0; i < ncols; i++) { const c = new F64List(1024); c.push(0); this.selfCols.push(c) }
  }

  get size(): number { return this.parent.n }

  private displayFrame(f: Frame, stripLines: boolean): number {
    const k = this.keyOf(f)
    let id = this.frameIds.get(k)
    if (id === undefined) {
      id = this.frames.length
      this.frameIds.set(k, id)
      this.frames.push(stripLines ? { ...f, name: stripLineSuffix(f.name), line: undefined, col: undefined } : f)
    }
    return id
  }

  private reserve(extra: number): void {
    let cap = this.hKeyP.length
    while (cap * 0.5 < this.size + extra) cap *= 2
    if (cap === this.hKeyP.length) return
    this.hKeyP = new Int32Array(cap).fill(-1)
    this.hKeyF = new Int32Array(cap)
    this.hVal = new Int32Array(cap)
    const upTo = this.hashedUpTo
    this.hashedUpTo = 1
    this.hashNodes(upTo)
  }

  private hashNodes(upTo: number): void {
    const par = this.parent.a, fr = this.frame.a
    for (let i = this.hashedUpTo; i < upTo; i++) {
      const h = this.slot(par[i]!, fr[i]!)
      if (this.hKeyP[h] === -1) { this.hKeyP[h] = par[i]!; this.hKeyF[h] = fr[i]!; this.hVal[h] = i }
    }
    this.hashedUpTo = upTo
  }

  private slot(p: number, f: number): number {
    const mask = this.hKeyP.length - 1
    let h = (Math.imul(p, 0x9e3779b1) ^ Math.imul(f + 1, 0x85ebca77)) >>> 0
    h = (h ^ (h >>> 15)) & mask
    const kp = this.hKeyP, kf = this.hKeyF
    while (kp[h] !== -1 && (kp[h] !== p || kf[h] !== f)) h = (h + 1) & mask
    return h
  }

  private newNode(parent: number, frame: number): number {
    const c = this.parent.n
    this.parent.push(parent)
    this.frame.push(frame)
    for (const col of this.selfCols) col.push(0)
    return c
  }

  add(input: TreeInput, stripLines = false): void {
    const p = input.profile
    const cols = input.values.map((v) => p.values[v]!).filter(Boolean)
    if (cols.length !== input.values.length) return
    const n = p.stackFrame.length
    const rows = p.sampleStack
    // Leaf weight per stack and column; only stacks with weight (and their ancestors) become nodes.
    const w = cols.map(() => new Float64Array(n))
    const rootSelf = cols.map(() => 0)
    const live = new Uint8Array(n)
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c]!, wc = w[c]!
      for (let r = 0; r < rows.length; r++) {
        const s = rows[r]!
        const x = col[r]!
        if (!(x > 0)) continue
        if (s < 0 || s >= n) rootSelf[c]! += x
        else { wc[s]! += x; live[s] = 1 }
      }
    }
    const sp = p.stackParent
    const sf = p.stackFrame
    for (let s = n - 1; s >= 0; s--) if (live[s]) { const par = sp[s]!; if (par >= 0) live[par] = 1 }
    // Display frame of every profile frame.
    const before = this.frames.length
    const disp = new Int32Array(p.frames.length)
    for (let f = 0; f < p.frames.length; f++) disp[f] = this.displayFrame(p.frames[f]!, stripLines)
    const direct = this.allowDirect && this.size === 1 && before === 0 && this.frames.length === p.frames.length
    const node = new Int32Array(n)
    const selfs = input.into.map((k) => this.selfCols[k]!)
    for (let c = 0; c < cols.length; c++) selfs[c]!.a[0]! += rootSelf[c]!
    if (direct) {
      for (let s = 0; s < n; s++) {
        if (!live[s]) continue
        const par = sp[s]!
        node[s] = this.newNode(par < 0 ? 0 : node[par]!, disp[sf[s]!]!)
      }
    } else {
      this.reserve(n)
      this.hashNodes(this.size)
      for (let s = 0; s < n; s++) {
        if (!live[s]) continue
        const par = sp[s]!
        const pn = par < 0 ? 0 : node[par]!
        const d = disp[sf[s]!]!
        const h = this.slot(pn, d)
        let nd: number
        if (this.hKeyP[h] === pn) nd = this.hVal[h]!
        else {
          nd = this.newNode(pn, d)
          this.hKeyP[h] = pn
          this.hKeyF[h] = d
          this.hVal[h] = nd
        }
        node[s] = nd
      }
      this.hashedUpTo = this.size
    }
    for (let c = 0; c < cols.length; c++) {
      const wc = w[c]!, self = selfs[c]!
      for (let s = 0; s < n; s++) if (wc[s]! > 0) self.a[node[s]!]! += wc[s]!
    }
  }

  /** Preorder emission with name-sorted children; nodes without weight in any column are left out. */
  emit(): EmittedTree {
    const N = this.size
    const cols = this.selfCols.map((c) => c.a)
    const parentOf = this.parent.a
    const frameOf = this.frame.a
    const alive = new Uint8Array(N)
    for (const c of cols) for (let i = 1; i < N; i++) if (c[i]! > 0) alive[i] = 1
    for (let i = N - 1; i >= 1; i--) if (alive[i]) alive[parentOf[i]!] = 1
    // Sort rank of display frames: by name, then file, line, module, kind.
    const F = this.frames.length
    const order = Array.from({ length: F }, (_, i) => i)
    const fr = this.frames
    const cmp = (a: string | undefined, b: string | undefined) => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0)
    order.sort((a, b) => cmp(fr[a]!.name, fr[b]!.name) || cmp(fr[a]!.file, fr[b]!.file) || ((fr[a]!.line ?? 0) - (fr[b]!.line ?? 0)) || cmp(fr[a]!.module, fr[b]!.module) || cmp(fr[a]!.kind, fr[b]!.kind))
    const rank = new Int32Array(F)
    for (let i = 0; i < F; i++) rank[order[i]!] = i
    // Children grouped by parent (CSR) and ordered by frame rank: two stable counting sorts.
    const byRank = new Int32Array(F + 1)
    const uses = new Int32Array(F)
    let alives = 0
    for (let i = 1; i < N; i++) if (alive[i]) { const f = frameOf[i]!; byRank[rank[f]! + 1]!++; uses[f]!++; alives++ }
    for (let r = 1; r <= F; r++) byRank[r]! += byRank[r - 1]!
    const sortedByRank = new Int32Array(alives)
    for (let i = 1; i < N; i++) if (alive[i]) sortedByRank[byRank[rank[frameOf[i]!]!]!++] = i
    const count = new Int32Array(N + 1)
    for (let k = 0; k < alives; k++) count[parentOf[sortedByRank[k]!]! + 1]!++
    for (let i = 1; i <= N; i++) count[i]! += count[i - 1]!
    const start = count.slice()
    const kids = new Int32Array(alives)
    for (let k = 0; k < alives; k++) { const i = sortedByRank[k]!; kids[start[parentOf[i]!]!++] = i }
    let dupes = false
    for (let k = 0; k + 1 < alives; k++) {
      const a = kids[k]!, b = kids[k + 1]!
      if (frameOf[a] === frameOf[b] && parentOf[a] === parentOf[b]) { dupes = true; break }
    }
    // Frames used, renumbered by how many nodes use them (frequent frames get short ids).
    const usedFrames: number[] = []
    for (let f = 0; f < F; f++) if (uses[f]! > 0) usedFrames.push(f)
    usedFrames.sort((a, b) => uses[b]! - uses[a]! || rank[a]! - rank[b]!)
    const newId = new Int32Array(F).fill(-1)
    for (let i = 0; i < usedFrames.length; i++) newId[usedFrames[i]!] = i
    const depth = new Int32Array(alives)
    const frame = new Int32Array(alives)
    const outCols = cols.map(() => new Float64Array(alives))
    // Iterative DFS from the root's children.
    const stackNode = new Int32Array(alives + 1)
    const stackDepth = new Int32Array(alives + 1)
    let sp = 0
    for (let k = count[1]! - 1; k >= count[0]!; k--) { stackNode[sp] = kids[k]!; stackDepth[sp++] = 0 }
    let o = 0
    const c0 = cols[0]!, o0 = outCols[0]!
    while (sp > 0) {
      const nd = stackNode[--sp]!
      const d = stackDepth[sp]!
      depth[o] = d
      frame[o] = newId[frameOf[nd]!]!
      o0[o] = c0[nd]!
      for (let c = 1; c < cols.length; c++) outCols[c]![o] = cols[c]![nd]!
      o++
      for (let k = count[nd + 1]! - 1; k >= count[nd]!; k--) { stackNode[sp] = kids[k]!; stackDepth[sp++] = d + 1 }
    }
    return { depth, frame, selfCols: outCols, rootSelf: cols.map((c) => c[0]!), frameOrder: usedFrames, frames: this.frames, dupes }
  }
}

/** Merge the inputs into one call tree (see TreeAcc). */
export function buildTree(inputs: readonly TreeInput[], keyOf: FrameKeyFn, ncols: number, stripLines = false): EmittedTree {
  for (const allowDirect of [true, false]) {
    const acc = new TreeAcc(keyOf, ncols, allowDirect)
    for (const inp of inputs) acc.add(inp, stripLines)
    const t = acc.emit()
    if (!t.dupes || !allowDirect) return t
  }
  throw new Error('unreachable')
}

class Strings {
  readonly list: string[] = []
  private map = new Map<string, number>()
  id(s: string | undefined): number {
    if (s === undefined || s === '') return -1
    let i = this.map.get(s)
    if (i === undefined) {
      i = this.list.length
      this.list.push(s)
      this.map.set(s, i)
    }
    return i
  }
}

function metaOf(p: Profile): PayloadMeta {
  const m = p.meta
  const out: PayloadMeta = {}
  if (m.name !== undefined) out.name = String(m.name)
  if (m.pid !== undefined) out.pid = m.pid
  if (m.command !== undefined) out.command = String(m.command)
  if (m.durationNs !== undefined && Number.isFinite(m.durationNs)) out.durationNs = m.durationNs
  if (m.cpuTimeNs !== undefined && Number.isFinite(m.cpuTimeNs)) out.cpuTimeNs = m.cpuTimeNs
  if (m.periodNs !== undefined && Number.isFinite(m.periodNs)) out.periodNs = m.periodNs
  if (m.backend !== undefined) out.backend = String(m.backend)
  if (m.sourceFormat !== undefined) out.sourceFormat = String(m.sourceFormat)
  if (m.startTimeNs !== undefined && Number.isFinite(m.startTimeNs)) out.startTimeNs = m.startTimeNs
  const b = cpuBasis(p)
  if (b.cores !== undefined) { out.cores = b.cores; out.coresFrom = b.coresFrom! }
  out.weights = b.weights
  out.basis = b.sentence
  return out
}

const isTime = (unit: string) => unit === 'nanoseconds' || unit === 'microseconds' || unit === 'milliseconds' || unit === 'seconds'
const isCount = (unit: string) => unit === 'count' || unit === 'samples' || unit === ''

/** The default column, plus a time column for a count profile (or a count column for a time profile). */
function pickColumns(p: Profile): number[] {
  const d = p.defaultValue
  const du = p.valueTypes[d]!.unit
  const out = [d]
  const other = p.valueTypes.findIndex((vt, i) => i !== d && (isCount(du) ? isTime(vt.unit) : isTime(du) ? isCount(vt.unit) : false))
  if (other >= 0) out.push(other)
  return out
}

/** Findings in the shape the page lists; anything else is ignored. */
export function normalizeFindings(list: readonly unknown[] | undefined): FindingLike[] {
  if (!Array.isArray(list)) return []
  const out: FindingLike[] = []
  for (const x of list) {
    if (!x || typeof x !== 'object') continue
    const o = x as Record<string, unknown>
    const title = typeof o.title === 'string' ? o.title : typeof o.message === 'string' ? o.message : undefined
    const ruleId = typeof o.ruleId === 'string' ? o.ruleId : typeof o.rule === 'string' ? o.rule : typeof o.id === 'string' ? o.id : undefined
    if (title === undefined || ruleId === undefined) continue
    const f: FindingLike = { ruleId, severity: typeof o.severity === 'string' ? o.severity : 'info', title }
    if (typeof o.share === 'number' && Number.isFinite(o.share)) f.share = o.share
    if (Array.isArray(o.frames)) f.frames = o.frames.filter((s): s is string => typeof s === 'string')
    if (typeof o.message === 'string' && o.message !== title) f.message = o.message
    out.push(f)
  }
  return out
}

function fillFrames(payload: Pick<FlamePayload, 'fName' | 'fFile' | 'fLine' | 'fMod' | 'fKind' | 'fConn'>, strs: Strings, frames: readonly Frame[], order: readonly number[]) {
  const anon = strs.id('(anonymous)')
  for (const f of order) {
    const fr = frames[f]!
    const nm = strs.id(fr.name)
    payload.fName.push(nm < 0 ? anon : nm)
    payload.fFile.push(strs.id(fr.file))
    payload.fLine.push(fr.line !== undefined && Number.isFinite(fr.line) && fr.line > 0 ? Math.floor(fr.line) : 0)
    payload.fMod.push(strs.id(fr.module))
    const k = KINDS.indexOf(fr.kind)
    payload.fKind.push(k < 0 ? KINDS.length - 1 : k)
    payload.fConn.push(isConnectFrame(fr) ? 1 : 0)
  }
}

export interface FlameOptions {
  title?: string
  icicle?: boolean
  highlight?: string
  findings?: readonly unknown[]
}

/** The payload fields both pages share: the merged call tree's columns and the frames' connect flags. */
function treeFields(t: ReturnType<typeof buildTree>, strs: Strings) {
  return {
    nodes: t.depth.length,
    strs: strs.list,
    fName: [] as number[], fFile: [] as number[], fLine: [] as number[], fMod: [] as number[], fKind: [] as number[], fConn: [] as number[],
    kinds: KINDS,
    depth: encodeColumn(t.depth),
    frame: encodeColumn(t.frame),
    self: encodeColumn(t.selfCols[0]!),
    rootSelf: t.rootSelf[0]!,
  }
}

export function buildPayload(p: Profile, opts: FlameOptions = {}): FlamePayload {
  const cols = pickColumns(p)
  const t = buildTree([{ profile: p, values: cols, into: cols.map((_, i) => i) }], fullKey, cols.length)
  const strs = new Strings()
  const payload: FlamePayload = {
    v: 1,
    mode: 'flame',
    title: opts.title ?? p.meta.name ?? 'flamegraph',
    icicle: Boolean(opts.icicle),
    meta: metaOf(p),
    cols: cols.map((c) => ({ type: p.valueTypes[c]!.type, unit: p.valueTypes[c]!.unit })),
    rows: p.sampleStack.length,
    ...treeFields(t, strs),
    findings: normalizeFindings(opts.findings),
  }
  if (opts.highlight) payload.highlight = opts.highlight
  if (cols.length > 1) { payload.self2 = encodeColumn(t.selfCols[1]!); payload.rootSelf2 = t.rootSelf[1]! }
  const unit0 = p.valueTypes[cols[0]!]!.unit
  if (isCount(unit0) && p.meta.periodNs && p.meta.periodNs > 0) payload.periodNs = p.meta.periodNs
  fillFrames(payload, strs, t.frames, t.frameOrder)
  return payload
}

export interface DiffOptions {
  title?: string
  stripLines?: boolean
  normalize?: 'share' | 'absolute'
}

/**
 * Both profiles merged into one tree keyed by frame path (name + file + line; name only with
 * stripLines). `self` holds the after-profile's weights, `bself` the before-profile's.
 */
export function buildDiffPayload(before: Profile, after: Profile, opts: DiffOptions = {}): FlamePayload {
  const strip = Boolean(opts.stripLines)
  // After first, so a frame's displayed file/line is the after-profile's.
  const t = buildTree([
    { profile: after, values: [after.defaultValue], into: [0] },
    { profile: before, values: [before.defaultValue], into: [1] },
  ], strip ? strippedKey : diffKey, 2, strip)
  const strs = new Strings()
  const vt = after.valueTypes[after.defaultValue]!
  const payload: FlamePayload = {
    v: 1,
    mode: 'diff',
    title: opts.title ?? `${before.meta.name ?? 'before'} \u2192 ${after.meta.name ?? 'after'}`,
    icicle: false,
    meta: metaOf(after),
    beforeMeta: metaOf(before),
    cols: [{ type: vt.type, unit: vt.unit }],
    rows: after.sampleStack.length,
    beforeRows: before.sampleStack.length,
    ...treeFields(t, strs),
    bself: encodeColumn(t.selfCols[1]!),
    bRootSelf: t.rootSelf[1]!,
    normalize: opts.normalize ?? 'share',
    findings: [],
  }
  if (isCount(vt.unit) && after.meta.periodNs && after.meta.periodNs > 0) payload.periodNs = after.meta.periodNs
  fillFrames(payload, strs, t.frames, t.frameOrder)
  return payload
}

// ---- encoding ----------------------------------------------------------------------------------

/**
 * Column encoding: non-negative integers as a base-32 varint string (little-endian digits, 6th bit
 * = more digits follow) in the alphabet below: a depth or a small frame id is one character, a
 * 10,000-frame table id three, no separators. Columns holding fractions stay JSON number arrays.
 * The alphabet has no character that needs escaping in JSON or HTML.
 */
export const VLQ_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VLQ_CODES = Uint8Array.from(VLQ_ALPHABET, (c) => c.charCodeAt(0))

export function encodeColumn(a: ArrayLike<number>): string | number[] {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    if (!(x >= 0) || !Number.isSafeInteger(x)) return roundedNumbers(a)
  }
  return encodeVlq(a)
}

export function encodeVlq(a: ArrayLike<number>): string {
  let buf = Buffer.allocUnsafe(Math.max(16, a.length * 2))
  let o = 0
  for (let i = 0; i < a.length; i++) {
    if (o + 12 > buf.length) { const b = Buffer.allocUnsafe(buf.length * 2); buf.copy(b, 0, 0, o); buf = b }
    let x = a[i]!
    if (x < 32) { buf[o++] = VLQ_CODES[x]!; continue }
    if (x < 1024) { buf[o++] = VLQ_CODES[(x & 31) | 32]!; buf[o++] = VLQ_CODES[x >> 5]!; continue }
    while (x >= 32) {
      const d = x % 32
      buf[o++] = VLQ_CODES[d | 32]!
      x = (x - d) / 32
    }
    buf[o++] = VLQ_CODES[x]!
  }
  return buf.toString('latin1', 0, o)
}

/** The inverse of encodeVlq (tests; the page has its own copy). */
export function decodeVlq(s: string, n: number): number[] {
  const dec = new Int8Array(128).fill(-1)
  for (let i = 0; i < 64; i++) dec[VLQ_ALPHABET.charCodeAt(i)] = i
  const out: number[] = []
  let i = 0
  while (out.length < n) {
    let v = 0, mul = 1, c: number
    do {
      c = dec[s.charCodeAt(i++)]!
      if (c < 0) throw new Error('bad VLQ')
      v += (c & 31) * mul
      mul *= 32
    } while (c & 32)
    out.push(v)
  }
  return out
}

function roundedNumbers(a: ArrayLike<number>): number[] {
  // Non-integral weights (ms, scaled): 9 significant digits are plenty for drawing and tooltips.
  const out = new Array<number>(a.length)
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    out[i] = Number.isFinite(x) && x > 0 ? (Number.isInteger(x) ? x : +x.toPrecision(9)) : 0
  }
  return out
}

/** JSON with every character that could end a <script> block or confuse an HTML parser escaped. */
export function payloadJson(payload: FlamePayload): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined) continue
    // VLQ strings are known to be plain ASCII letters and digits: no need to scan them.
    const j = typeof v === 'string' && VLQ_KEYS.has(k) ? `"${v}"` : safeJson(v)
    parts.push(`${JSON.stringify(k)}:${j}`)
  }
  return `{${parts.join(',')}}`
}

const VLQ_KEYS = new Set(['depth', 'frame', 'self', 'self2', 'bself'])

function safeJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
