// pprof profile.proto (https://github.com/google/pprof/blob/main/proto/profile.proto), gzipped or
// raw. Detection is by content: source.ts has already inflated gzip, so sniff() walks the head as
// protobuf and accepts it when every top-level field is a profile.proto field of the right wire
// type (speedscope's approach: "try to decode").
//
// Decoding is two passes over the bytes without one object per message: pass 1 walks the Profile
// message, decodes the small tables (sample types, mappings, functions, locations) into typed
// arrays and only records where each sample and each string lives; pass 2 decodes the samples
// straight into the value columns and a typed-array stack trie. Strings are decoded on demand.
//
// Semantics follow `go tool pprof`:
// - the default sample type is `default_sample_type` when set, else the LAST sample type;
// - a location's inlined lines become separate frames (line[0] is the innermost callee);
// - a sample is one row (no aggregation), with its labels.
// Negative values (delta / diff profiles: memory freed between two snapshots) are read as 0, with a
// warning, and a sample left with no positive value is dropped: the model promises values >= 0
// (shares and flamegraph widths mean nothing below zero), so totals match `go tool pprof -raw` with
// negative values left out. withoutNegatives() does it.
// A frame is a function (name, file, start line) in a mapping (module); address-only locations
// are named by their hex address, like `-raw` prints them.
import { frameKey } from '../model/builder.js'
import type { Frame, FrameKind, Profile, ProfileMeta, ValueType } from '../model/types.js'
import { LabelColumnsBuilder, type LabelColumns } from '../model/labels.js'
import { MalformedInputError, MeshprofError } from '../util/errors.js'
import { HEAD_BYTES } from './source.js'
import { ProtoError, ProtoReader, WIRE_LEN, WIRE_VARINT, decodeUtf8 } from './protobuf.js'
import { isLegacyPprof, sniffPprof } from './detect.js'
import { StackTrie } from './stack-trie.js'
import type { ImportOptions, Importer } from './types.js'
import { jsModuleOf } from './shared.js'
import { jsFrame } from './js-frame.js'
import { doubled, F64List, I32List } from '../model/growable.js'

export const pprofImporter: Importer = {
  id: 'pprof',
  title: 'pprof protobuf (gzipped or raw)',
  sniff: sniffPprof,
  async parse(input, options) {
    const buf = await input.readAll()
    if (buf.length === 0) throw new MalformedInputError('pprof', `${input.name} is empty`)
    if (isLegacyPprof(buf.subarray(0, 64))) {
      throw new MalformedInputError('pprof', `${input.name} is a legacy (pre-protobuf) pprof profile, which meshprof does not read; convert it first: go tool pprof -proto ${input.name} > profile.pb.gz`)
    }
    return [decodePprof(buf, input.name, options)]
  },
}

// ---------------------------------------------------------------------------------------------

/** Growable Int32 list (offsets into a buffer below 2 GiB, ids, indexes). */
class IntList extends I32List {
  override push(v: number): void {
    // String-table indexes and ids arrive as int64: refuse what an Int32 cannot hold exactly.
    if (v !== (v | 0)) throw new ProtoError(`value ${v} out of range`)
    super.push(v)
  }
}

/** id -> index for pprof tables: dense array when ids are small (the usual 1..N), else a Map. */
class IdIndex {
  private dense: Int32Array | undefined
  private map: Map<number, number> | undefined
  constructor(ids: F64List, what: string) {
    let max = 0
    for (let i = 0; i < ids.n; i++) {
      const id = ids.get(i)
      if (id > max) max = id
    }
    if (max <= ids.n * 4 + 1024) {
      this.dense = new Int32Array(max + 1).fill(-1)
      for (let i = 0; i < ids.n; i++) {
        const id = ids.get(i)
        if (id === 0) throw new ProtoError(`${what} with id 0`)
        if (this.dense[id] !== -1) throw new ProtoError(`duplicate ${what} id ${id}`)
        this.dense[id] = i
      }
    } else {
      this.map = new Map()
      for (let i = 0; i < ids.n; i++) {
        const id = ids.get(i)
        if (id === 0) throw new ProtoError(`${what} with id 0`)
        if (this.map.has(id)) throw new ProtoError(`duplicate ${what} id ${id}`)
        this.map.set(id, i)
      }
    }
  }
  get(id: number): number {
    if (this.dense) return id < this.dense.length ? this.dense[id]! : -1
    return this.map!.get(id) ?? -1
  }
}

function kindOf(name: string, file: string, module: string): FrameKind {
  if (name === '(idle)') return 'idle'
  if (name === '(garbage collector)') return 'gc'
  if (name === '(program)') return 'program'
  if (module.startsWith('[kernel') || name.endsWith('_[k]')) return 'kernel'
  if (/\.(m?[jt]sx?|cjs|mts|cts)$/.test(file) || file.startsWith('node:') || /^(file|https?|webpack):\/\//.test(file)) return 'js'
  return 'native'
}

function basename(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'))
  return i >= 0 ? p.slice(i + 1) : p
}

/** Decode a (gunzipped) profile.proto message into a Profile. */
export function decodePprof(buf: Uint8Array, name: string, options: ImportOptions = {}): Profile {
  try {
    return withoutNegatives(decode(buf, name, options), name, options.warn)
  } catch (e) {
    if (e instanceof MeshprofError) throw e
    if (e instanceof ProtoError) throw new MalformedInputError('pprof', `${name}: ${e.message}`)
    if (e instanceof RangeError) throw new MalformedInputError('pprof', `${name}: ${e.message}`)
    throw e
  }
}

/**
 * Negative values set to 0 (see the header), counted in meta.extra.negativeValuesDropped; a sample
 * left with no positive value carries no weight and is dropped, as the pprof export would drop it.
 */
function withoutNegatives(p: Profile, name: string, warn: ImportOptions['warn']): Profile {
  let n = 0
  let emptied = 0
  const rows = p.sampleStack.length
  const keep = new Uint8Array(rows).fill(1)
  for (let r = 0; r < rows; r++) {
    let neg = false
    let pos = false
    for (const col of p.values) {
      const x = col[r]!
      if (x < 0) { col[r] = 0; n++; neg = true } else if (x > 0) pos = true
    }
    if (neg && !pos) { keep[r] = 0; emptied++ }
  }
  if (n === 0) return p
  warn?.(`${name}: ${n} negative sample value${n === 1 ? '' : 's'} (a delta or diff profile) read as 0; ${emptied} sample${emptied === 1 ? '' : 's'} left without weight dropped`)
  const meta = { ...p.meta, extra: { ...p.meta.extra, negativeValuesDropped: n } }
  if (emptied === 0) return { ...p, meta }
  const idx: number[] = []
  for (let r = 0; r < rows; r++) if (keep[r]) idx.push(r)
  return {
    ...p,
    meta,
    sampleStack: Int32Array.from(idx, (r) => p.sampleStack[r]!),
    values: p.values.map((col) => Float64Array.from(idx, (r) => col[r]!)),
    ...(p.times ? { times: Float64Array.from(idx, (r) => p.times![r]!) } : {}),
    ...(p.labels ? { labels: p.labels.select(idx) } : {}),
  }
}

function decode(buf: Uint8Array, name: string, options: ImportOptions): Profile {
  const t = readTables(buf)
  const strings = new StringTable(buf, t.strStart, t.strEnd)
  const { valueTypes, defaultValue } = sampleTypes(t, strings)
  const locs = locationFrames(t, strings)
  const samples = decodeSamples(buf, t, locs, valueTypes.length, strings)
  if (strings.badUtf8) options.warn?.(`${name}: invalid UTF-8 in the string table; replaced with U+FFFD`)
  const { stackFrame, stackParent } = samples.trie.arrays()
  return {
    frames: locs.frames,
    stackFrame,
    stackParent,
    sampleStack: samples.sampleStack,
    values: samples.values,
    valueTypes,
    defaultValue,
    ...(samples.labels ? { labels: samples.labels } : {}),
    meta: profileMeta(t, strings, name, samples.labelUnits),
  }
}

/** Pass 1 over the Profile message: the small tables decoded, samples and strings located. */
interface Tables {
  typeIdx: IntList
  unitIdx: IntList
  sampleStart: IntList
  sampleEnd: IntList
  strStart: IntList
  strEnd: IntList
  mapId: F64List
  mapFile: IntList
  mapBuildId: IntList
  fnId: F64List
  fnName: IntList
  fnSystemName: IntList
  fnFile: IntList
  fnStartLine: F64List
  locId: F64List
  locMapping: F64List
  locAddrLo: F64List
  locAddrHi: F64List
  /** Per location, its first entry in lineFn/lineNo (one more entry at the end). */
  locLineStart: IntList
  lineFn: F64List
  lineNo: F64List
  timeNanos: number
  durationNanos: number
  period: number
  periodType: [number, number] | undefined
  defaultSampleType: number
  dropFrames: number
  keepFrames: number
  comments: number[]
}

function readTables(buf: Uint8Array): Tables {
  const t: Tables = {
    typeIdx: new IntList(8), unitIdx: new IntList(8),
    sampleStart: new IntList(1024), sampleEnd: new IntList(1024),
    strStart: new IntList(1024), strEnd: new IntList(1024),
    mapId: new F64List(16), mapFile: new IntList(16), mapBuildId: new IntList(16),
    fnId: new F64List(256), fnName: new IntList(256), fnSystemName: new IntList(256), fnFile: new IntList(256), fnStartLine: new F64List(256),
    locId: new F64List(256), locMapping: new F64List(256), locAddrLo: new F64List(256), locAddrHi: new F64List(256), locLineStart: new IntList(256),
    lineFn: new F64List(256), lineNo: new F64List(256),
    timeNanos: 0, durationNanos: 0, period: 0, periodType: undefined, defaultSampleType: 0, dropFrames: 0, keepFrames: 0, comments: [],
  }
  const r = new ProtoReader(buf)
  const sub = new ProtoReader(buf)
  const lnr = new ProtoReader(buf)
  const enter = (): void => {
    const len = r.lenStart()
    sub.pos = r.pos
    sub.end = r.pos + len
    r.pos += len
  }
  const need = (what: string): void => {
    if (r.wire !== WIRE_LEN) throw new ProtoError(`${what}: wrong wire type ${r.wire}`)
  }
  const varintField = (): number => (r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0))
  while (r.next()) {
    switch (r.field) {
      case 1:
      case 11: {
        need(`field ${r.field}`)
        enter()
        const [ty, unit] = readValueType(sub)
        if (r.field === 1) { t.typeIdx.push(ty); t.unitIdx.push(unit) } else t.periodType = [ty, unit]
        break
      }
      case 2: {
        need('sample')
        const [s, e] = r.lenRange()
        t.sampleStart.push(s)
        t.sampleEnd.push(e)
        break
      }
      case 3: need('mapping'); enter(); readMapping(sub, t); break
      case 4: need('location'); enter(); readLocation(sub, t, lnr); break
      case 5: need('function'); enter(); readFunction(sub, t); break
      case 6: {
        need('string_table')
        const [s, e] = r.lenRange()
        t.strStart.push(s)
        t.strEnd.push(e)
        break
      }
      case 7: t.dropFrames = varintField(); break
      case 8: t.keepFrames = varintField(); break
      case 9: t.timeNanos = varintField(); break
      case 10: t.durationNanos = varintField(); break
      case 12: t.period = varintField(); break
      case 13: r.repeatedVarint((v) => t.comments.push(v), true); break
      case 14: t.defaultSampleType = varintField(); break
      default: r.skip()
    }
  }
  t.locLineStart.push(t.lineFn.n)
  return t
}

function readValueType(sub: ProtoReader): [number, number] {
  let ty = 0
  let unit = 0
  while (sub.next()) {
    if (sub.field === 1 && sub.wire === WIRE_VARINT) ty = sub.int64()
    else if (sub.field === 2 && sub.wire === WIRE_VARINT) unit = sub.int64()
    else sub.skip()
  }
  return [ty, unit]
}

function readMapping(sub: ProtoReader, t: Tables): void {
  let id = 0
  let file = 0
  let build = 0
  while (sub.next()) {
    if (sub.field === 1 && sub.wire === WIRE_VARINT) id = sub.varint()
    else if (sub.field === 5 && sub.wire === WIRE_VARINT) file = sub.int64()
    else if (sub.field === 6 && sub.wire === WIRE_VARINT) build = sub.int64()
    else sub.skip()
  }
  t.mapId.push(id)
  t.mapFile.push(file)
  t.mapBuildId.push(build)
}

function readLocation(sub: ProtoReader, t: Tables, lnr: ProtoReader): void {
  let id = 0
  let mapping = 0
  let addrLo = 0
  let addrHi = 0
  t.locLineStart.push(t.lineFn.n)
  while (sub.next()) {
    if (sub.field === 1 && sub.wire === WIRE_VARINT) id = sub.varint()
    else if (sub.field === 2 && sub.wire === WIRE_VARINT) mapping = sub.varint()
    else if (sub.field === 3 && sub.wire === WIRE_VARINT) { sub.varintParts(); addrLo = sub.lo; addrHi = sub.hi }
    else if (sub.field === 4 && sub.wire === WIRE_LEN) {
      const len = sub.lenStart()
      lnr.pos = sub.pos
      lnr.end = sub.pos + len
      sub.pos += len
      let f = 0
      let line = 0
      while (lnr.next()) {
        if (lnr.field === 1 && lnr.wire === WIRE_VARINT) f = lnr.varint()
        else if (lnr.field === 2 && lnr.wire === WIRE_VARINT) line = lnr.int64()
        else lnr.skip()
      }
      t.lineFn.push(f)
      t.lineNo.push(line)
    } else sub.skip()
  }
  t.locId.push(id)
  t.locMapping.push(mapping)
  t.locAddrLo.push(addrLo)
  t.locAddrHi.push(addrHi)
}

function readFunction(sub: ProtoReader, t: Tables): void {
  let id = 0
  let nm = 0
  let sys = 0
  let file = 0
  let start = 0
  while (sub.next()) {
    if (sub.wire !== WIRE_VARINT) { sub.skip(); continue }
    switch (sub.field) {
      case 1: id = sub.varint(); break
      case 2: nm = sub.int64(); break
      case 3: sys = sub.int64(); break
      case 4: file = sub.int64(); break
      case 5: start = sub.int64(); break
      default: sub.skip()
    }
  }
  t.fnId.push(id)
  t.fnName.push(nm)
  t.fnSystemName.push(sys)
  t.fnFile.push(file)
  t.fnStartLine.push(start)
}

/** The string table, decoded on demand. */
class StringTable {
  readonly n: number
  badUtf8 = false
  private cache: (string | undefined)[]
  constructor(private readonly buf: Uint8Array, private readonly start: IntList, private readonly end: IntList) {
    this.n = start.n
    if (this.n > 0 && end.a[0]! !== start.a[0]!) throw new ProtoError('string_table[0] is not the empty string')
    this.cache = new Array(this.n)
  }
  get(i: number): string {
    if (i === 0) return ''
    if (!(i > 0 && i < this.n)) throw new ProtoError(`string index ${i} out of range (string table has ${this.n} entries)`)
    let s = this.cache[i]
    if (s === undefined) {
      s = decodeUtf8(this.buf, this.start.a[i]!, this.end.a[i]!)
      if (!this.badUtf8 && s.includes('\ufffd')) this.badUtf8 = true
      this.cache[i] = s
    }
    return s
  }
}

function sampleTypes(t: Tables, str: StringTable): { valueTypes: ValueType[]; defaultValue: number } {
  if (t.typeIdx.n === 0) {
    if (t.sampleStart.n > 0) throw new ProtoError(`${t.sampleStart.n} samples but no sample_type`)
    throw new ProtoError('no sample types and no samples (not a profile?)')
  }
  const valueTypes: ValueType[] = []
  for (let i = 0; i < t.typeIdx.n; i++) valueTypes.push({ type: str.get(t.typeIdx.a[i]!), unit: str.get(t.unitIdx.a[i]!) })
  let defaultValue = valueTypes.length - 1
  if (t.defaultSampleType) {
    const want = str.get(t.defaultSampleType)
    const i = valueTypes.findIndex((v) => v.type === want)
    if (i >= 0) defaultValue = i
  }
  return { valueTypes, defaultValue }
}

/** Frames of every location, root (outermost inlined caller) first, as ranges of one list. */
interface LocationFrames {
  frames: Frame[]
  locIndex: IdIndex
  /** Frames of location li: locFrames[locFrameStart[li] .. locFrameStart[li + 1]). */
  locFrameStart: Int32Array
  locFrames: Int32Array
}

function locationFrames(t: Tables, str: StringTable): LocationFrames {
  const mapIndex = new IdIndex(t.mapId, 'mapping')
  const fnIndex = new IdIndex(t.fnId, 'function')
  const frames: Frame[] = []
  const frameIds = new Map<string, number>()
  const intern = (f: Frame): number => {
    const k = frameKey(f)
    let id = frameIds.get(k)
    if (id === undefined) {
      id = frames.length
      frames.push(Object.freeze(f))
      frameIds.set(k, id)
    }
    return id
  }
  const nLocs = t.locId.n
  const locFrameStart = new Int32Array(nLocs + 1)
  const list = new IntList(nLocs + 16)
  const fnFrameCache = new Map<number, number>()
  // lineNo: the line of the location's first use of the function, for JavaScript frames without start_line.
  const functionFrame = (fi: number, mi: number, module: string, lineNo: number): number => {
    const cacheKey = fi * (t.mapId.n + 1) + (mi + 1)
    let frame = fnFrameCache.get(cacheKey)
    if (frame === undefined) {
      let nm = str.get(t.fnName.a[fi]!)
      if (nm === '') nm = str.get(t.fnSystemName.a[fi]!)
      const file = str.get(t.fnFile.a[fi]!)
      const start = t.fnStartLine.get(fi)
      const kind = kindOf(nm, file, module)
      const mod = kind === 'js' && file ? jsModuleOf(file) : module
      // JavaScript (the agent's @datadog/pprof): one form with the inspector's frames; it records the
      // function's line in Line.line, not in start_line.
      frame = intern(kind === 'js' && nm !== ''
        ? { ...(mod ? { module: mod } : {}), ...jsFrame(nm, file, start > 0 ? start : lineNo, undefined), kind }
        : {
          name: nm === '' ? '??' : nm,
          kind,
          ...(file ? { file } : {}),
          ...(start > 0 ? { line: start } : {}),
          ...(mod ? { module: mod } : {}),
        })
      fnFrameCache.set(cacheKey, frame)
    }
    return frame
  }
  for (let li = 0; li < nLocs; li++) {
    locFrameStart[li] = list.n
    const mid = t.locMapping.get(li)
    let mi = -1
    if (mid !== 0) {
      mi = mapIndex.get(mid)
      if (mi < 0) throw new ProtoError(`location ${t.locId.get(li)} names mapping ${mid}, which does not exist`)
    }
    const module = mi >= 0 ? str.get(t.mapFile.a[mi]!) : ''
    const nativeKind: FrameKind = module.startsWith('[kernel') ? 'kernel' : 'native'
    const l0 = t.locLineStart.a[li]!
    const l1 = t.locLineStart.a[li + 1]!
    if (l1 === l0) {
      const lo = t.locAddrLo.get(li)
      const hi = t.locAddrHi.get(li)
      const hex = hi ? hi.toString(16) + lo.toString(16).padStart(8, '0') : lo.toString(16)
      list.push(intern({ name: `0x${hex}`, kind: nativeKind, ...(module ? { module } : {}) }))
      continue
    }
    // line[0] is the innermost inlined callee: walk backwards for root-first order.
    for (let j = l1 - 1; j >= l0; j--) {
      const fid = t.lineFn.get(j)
      if (fid === 0) {
        // A line without a function: pprof prints it as "??".
        list.push(intern({ name: '??', kind: nativeKind, ...(module ? { module } : {}) }))
        continue
      }
      const fi = fnIndex.get(fid)
      if (fi < 0) throw new ProtoError(`location ${t.locId.get(li)} names function ${fid}, which does not exist`)
      list.push(functionFrame(fi, mi, module, t.lineNo.get(j)))
    }
  }
  locFrameStart[nLocs] = list.n
  return { frames, locIndex: new IdIndex(t.locId, 'location'), locFrameStart, locFrames: list.a }
}

interface Samples {
  sampleStack: Int32Array
  values: Float64Array[]
  trie: StackTrie
  labels: LabelColumns | undefined
  labelUnits: Record<string, string>
}

/**
 * Pass 2: every sample straight into the value columns, the stack trie and the label columns.
 * Samples often repeat a stack with other labels: the packed location_id bytes are looked up
 * first, so a repeated stack costs one hash of its bytes instead of a walk down the trie.
 */
function decodeSamples(buf: Uint8Array, t: Tables, locs: LocationFrames, nTypes: number, str: StringTable): Samples {
  const nSamples = t.sampleStart.n
  const values: Float64Array[] = Array.from({ length: nTypes }, () => new Float64Array(nSamples))
  const sampleStack = new Int32Array(nSamples)
  const trie = new StackTrie(Math.min(1 << 22, Math.max(1024, nSamples * 4)))
  const labels = new SampleLabels(buf, str)
  const seqCache = new ByteSeqCache(buf, Math.min(nSamples, 1 << 20))
  const ids = new LocationIds(buf)
  const s = new ProtoReader(buf)
  for (let i = 0; i < nSamples; i++) {
    s.pos = t.sampleStart.a[i]!
    s.end = t.sampleEnd.a[i]!
    ids.reset()
    labels.startRow()
    let nVal = 0
    while (s.next()) {
      const field = s.field
      if (field === 1) ids.read(s)
      else if (field === 2) {
        if (s.wire === WIRE_LEN) {
          const end = s.lenStart() + s.pos
          const save = s.end
          s.end = end
          while (s.pos < end) {
            const v = s.int64()
            if (nVal < nTypes) values[nVal]![i] = v
            nVal++
          }
          s.end = save
        } else if (s.wire === WIRE_VARINT) {
          const v = s.int64()
          if (nVal < nTypes) values[nVal]![i] = v
          nVal++
        } else s.skip()
      } else if (field === 3 && s.wire === WIRE_LEN) labels.read(s)
      else s.skip()
    }
    if (nVal !== nTypes) throw new ProtoError(`sample ${i} has ${nVal} values for ${nTypes} sample types`)
    let slot = -1
    if (ids.seqStart >= 0) {
      slot = seqCache.find(ids.seqStart, ids.seqEnd)
      const hit = seqCache.stackAt(slot)
      if (hit !== -2) {
        sampleStack[i] = hit
        continue
      }
      ids.decodeSeq()
    }
    const st = stackOfLocations(ids, locs, trie, i)
    sampleStack[i] = st
    if (slot >= 0) seqCache.insert(slot, ids.seqStart, ids.seqEnd, st)
  }
  return { sampleStack, values, trie, labels: labels.build(nSamples), labelUnits: labels.units }
}

/** Stack id of a sample's location ids (leaf first); the trie wants root first. */
function stackOfLocations(ids: LocationIds, locs: LocationFrames, trie: StackTrie, sample: number): number {
  const { locIndex, locFrameStart, locFrames } = locs
  const ls = ids.list
  let st = -1
  let fresh = false // once a node is created, every deeper one is new too
  for (let j = ids.n - 1; j >= 0; j--) {
    const li = locIndex.get(ls[j]!)
    if (li < 0) throw new ProtoError(`sample ${sample} names location ${ls[j]}, which does not exist`)
    const f1 = locFrameStart[li + 1]!
    for (let k = locFrameStart[li]!; k < f1; k++) {
      if (fresh) st = trie.append(st, locFrames[k]!)
      else {
        st = trie.child(st, locFrames[k]!)
        fresh = trie.created
      }
    }
  }
  return st
}

/**
 * A sample's location_id field(s). One packed field is kept as a byte range (the cache key) and
 * decoded only on a cache miss; anything else (unpacked ids, several fields) is decoded at once.
 */
class LocationIds {
  list: Float64Array = new Float64Array(256)
  n = 0
  /** Byte range of the one packed field; -1 none yet, -2 not cacheable. */
  seqStart = -1
  seqEnd = -1
  private readonly r: ProtoReader
  constructor(buf: Uint8Array) {
    this.r = new ProtoReader(buf)
  }
  reset(): void {
    this.n = 0
    this.seqStart = -1
    this.seqEnd = -1
  }
  read(s: ProtoReader): void {
    if (this.seqStart >= 0) {
      this.decode(this.seqStart, this.seqEnd)
      this.seqStart = -2
    }
    if (s.wire === WIRE_LEN) {
      const len = s.lenStart()
      const end = s.pos + len
      if (this.seqStart === -1 && this.n === 0) {
        this.seqStart = s.pos
        this.seqEnd = end
      } else this.decode(s.pos, end)
      s.pos = end
    } else if (s.wire === WIRE_VARINT) {
      if (this.seqStart === -1) this.seqStart = -2
      this.push(s.varint())
    } else s.skip()
  }
  /** Decode the cached packed range (after a cache miss). */
  decodeSeq(): void {
    this.n = 0
    this.decode(this.seqStart, this.seqEnd)
  }
  private decode(start: number, end: number): void {
    const r = this.r
    r.pos = start
    r.end = end
    while (r.pos < end) this.push(r.varint())
  }
  private push(v: number): void {
    if (this.n === this.list.length) this.list = doubled(this.list)
    this.list[this.n++] = v
  }
}

/** A sample's labels into label columns, keyed by string-table index (no object per sample). */
class SampleLabels {
  readonly units: Record<string, string> = {}
  private readonly cols = new LabelColumnsBuilder()
  private readonly keyOf = new Map<number, number>()
  private strOf = new Int32Array(0)
  private readonly lr: ProtoReader
  private any = false
  constructor(buf: Uint8Array, private readonly str: StringTable) {
    this.lr = new ProtoReader(buf)
  }
  startRow(): void {
    this.cols.addRow()
  }
  read(s: ProtoReader): void {
    const lr = this.lr
    const len = s.lenStart()
    lr.pos = s.pos
    lr.end = s.pos + len
    s.pos += len
    let k = 0
    let sv = 0
    let num = 0
    let unit = 0
    while (lr.next()) {
      if (lr.wire !== WIRE_VARINT) { lr.skip(); continue }
      if (lr.field === 1) k = lr.int64()
      else if (lr.field === 2) sv = lr.int64()
      else if (lr.field === 3) num = lr.int64()
      else if (lr.field === 4) unit = lr.int64()
      else lr.skip()
    }
    // As pprof: a label with neither a string nor a number (nor a unit) is no label.
    if (sv === 0 && num === 0 && unit === 0) return
    this.any = true
    let key = this.keyOf.get(k)
    if (key === undefined) {
      key = this.cols.keyId(this.str.get(k))
      this.keyOf.set(k, key)
    }
    if (sv) this.cols.setString(key, this.stringId(sv))
    else {
      if (unit) this.units[this.str.get(k)] = this.str.get(unit)
      this.cols.setNumber(key, num)
    }
  }
  private stringId(i: number): number {
    if (i >= this.strOf.length) {
      const a = new Int32Array(Math.max(i + 1, this.str.n)).fill(-1)
      a.set(this.strOf)
      this.strOf = a
    }
    let id = this.strOf[i]!
    if (id < 0) id = this.strOf[i] = this.cols.stringId(this.str.get(i))
    return id
  }
  build(nSamples: number): LabelColumns | undefined {
    return this.any && this.cols.length === nSamples ? this.cols.build() : undefined
  }
}

function profileMeta(t: Tables, str: StringTable, name: string, labelUnits: Record<string, string>): ProfileMeta {
  const extra: Record<string, unknown> = {}
  const s = (i: number): string => str.get(i)
  if (t.periodType) extra.periodType = { type: s(t.periodType[0]), unit: s(t.periodType[1]) }
  if (t.period) extra.period = t.period
  if (t.comments.length) extra.comments = t.comments.map(s)
  if (t.dropFrames) extra.dropFrames = s(t.dropFrames)
  if (t.keepFrames) extra.keepFrames = s(t.keepFrames)
  if (Object.keys(labelUnits).length) extra.labelUnits = labelUnits
  if (t.mapId.n) {
    const main = s(t.mapFile.a[0]!)
    if (main) extra.mainBinary = main
    const build = s(t.mapBuildId.a[0]!)
    if (build) extra.buildId = build
  }
  const periodNs = t.periodType && s(t.periodType[1]) === 'nanoseconds' && t.period > 0 ? t.period : undefined
  return {
    name: basename(name),
    sourceFormat: 'pprof',
    ...(t.durationNanos > 0 ? { durationNs: t.durationNanos } : {}),
    ...(periodNs ? { periodNs } : {}),
    ...(t.timeNanos > 0 ? { startTimeNs: t.timeNanos } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  }
}

/**
 * Byte range (a packed location_id list) -> stack id. Open addressing; keys are compared byte by
 * byte against the first sample that had them, so no copies of the bytes are kept.
 */
class ByteSeqCache {
  private slots: Int32Array
  private mask: number
  private start: Int32Array
  private end: Int32Array
  private stack: Int32Array
  private hash: Int32Array
  private n = 0
  private lastHash = 0
  constructor(private readonly buf: Uint8Array, maxEntries: number) {
    let cap = 1024
    while (cap < maxEntries * 2) cap *= 2
    this.slots = new Int32Array(cap)
    this.mask = cap - 1
    const m = Math.max(16, maxEntries)
    this.start = new Int32Array(m)
    this.end = new Int32Array(m)
    this.stack = new Int32Array(m)
    this.hash = new Int32Array(m)
  }
  /** Slot holding [start, end), or the empty slot where it belongs; -1 when the cache is full. */
  find(start: number, end: number): number {
    const b = this.buf
    let h = 0x811c9dc5 ^ (end - start)
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
    h ^= h >>> 15
    this.lastHash = h
    const mask = this.mask
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = this.slots[i]!
      if (e === 0) return this.n < this.start.length ? i : -1
      const k = e - 1
      if (this.hash[k] !== h) continue
      const s0 = this.start[k]!
      const len = this.end[k]! - s0
      if (len !== end - start) continue
      let j = 0
      while (j < len && b[s0 + j] === b[start + j]) j++
      if (j === len) return i
    }
  }
  /** Stack id cached in `slot`, or -2 when the slot is empty (or there is none). */
  stackAt(slot: number): number {
    if (slot < 0) return -2
    const e = this.slots[slot]!
    return e === 0 ? -2 : this.stack[e - 1]!
  }
  insert(slot: number, start: number, end: number, stack: number): void {
    const k = this.n++
    this.start[k] = start
    this.end[k] = end
    this.stack[k] = stack
    this.hash[k] = this.lastHash
    this.slots[slot] = k + 1
  }
}

