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
// - a sample is one row (no aggregation), with its labels; negative values (delta / diff profiles)
//   are kept as they are, so totals match `go tool pprof -raw`.
// A frame is a function (name, file, start line) in a mapping (module); address-only locations
// are named by their hex address, like `-raw` prints them.
import { frameKey } from '../model/builder.js'
import type { Frame, FrameKind, Profile, ValueType } from '../model/types.js'
import { MalformedInputError, MeshprofError } from '../util/errors.js'
import { HEAD_BYTES } from './source.js'
import { ProtoError, ProtoReader, WIRE_LEN, WIRE_VARINT, decodeUtf8 } from './protobuf.js'
import { StackTrie } from './stack-trie.js'
import type { ImportOptions, Importer } from './types.js'
import { jsModuleOf, pickSampleType } from './shared.js'
import { jsFrame } from './js-frame.js'

/** Wire type each top-level Profile field must have (13 = comment may be packed or not). */
const PROFILE_WIRE: Record<number, number[]> = {
  1: [WIRE_LEN], 2: [WIRE_LEN], 3: [WIRE_LEN], 4: [WIRE_LEN], 5: [WIRE_LEN], 6: [WIRE_LEN],
  7: [WIRE_VARINT], 8: [WIRE_VARINT], 9: [WIRE_VARINT], 10: [WIRE_VARINT], 11: [WIRE_LEN],
  12: [WIRE_VARINT], 13: [WIRE_VARINT, WIRE_LEN], 14: [WIRE_VARINT], 15: [WIRE_LEN],
}

/** Pre-protobuf pprof formats that `go tool pprof` still reads (text heap/contention/thread, binary CPU). */
const LEGACY_TEXT = /^(--- ?(heapz|heap|contentionz|contention|threadz|thread|symbol)\b|heap profile:|heap_v2\/|[a-z]+ profile: total \d+)/

export function isLegacyPprof(head: Uint8Array): boolean {
  if (head.length >= 16) {
    // gperftools binary CPU profile: header words 0, 3 (header count), 0, period, 0 - 32 or 64 bit.
    const w32 = head[0] === 0 && head[1] === 0 && head[2] === 0 && head[3] === 0
    if (w32 && head[4] === 3 && head[5] === 0 && head[6] === 0 && head[7] === 0) return true
    if (w32 && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 3 && head[9] === 0) return true
  }
  const text = Buffer.from(head.subarray(0, 64)).toString('latin1')
  return LEGACY_TEXT.test(text)
}

/** True when `head` parses as the start of a profile.proto message. */
export function looksLikePprof(head: Uint8Array): boolean {
  if (head.length === 0) return false
  const r = new ProtoReader(head)
  const truncated = head.length >= HEAD_BYTES
  let fields = 0
  let sawCore = false
  // Every pprof writer emits fields in number order, so a real profile starts with a sample_type
  // (field 1) holding a ValueType: strong evidence when the walk cannot reach the end of the head.
  let startsWithValueType = false
  try {
    while (r.pos < head.length) {
      const key = r.varint()
      const field = Math.floor(key / 8)
      const wire = key & 7
      const ok = PROFILE_WIRE[field]
      if (!ok || !ok.includes(wire)) return false
      if (field === 1 || field === 2 || field === 6) sawCore = true
      fields++
      if (wire === WIRE_LEN) {
        const len = r.varint()
        // Runs past the head: the rest of a big file, or a truncated one (parse then says so).
        if (r.pos + len > head.length) return (truncated || fields > 2) && startsWithValueType
        if (fields === 1 && field === 1) startsWithValueType = isValueType(head, r.pos, r.pos + len)
        r.pos += len
      } else {
        r.varint()
      }
    }
  } catch {
    // A varint cut by the end of the head: more content follows, or the file is truncated.
    return (truncated || fields > 2) && startsWithValueType
  }
  return sawCore
}

function isValueType(buf: Uint8Array, start: number, end: number): boolean {
  const r = new ProtoReader(buf, start, end)
  try {
    while (r.next()) {
      if ((r.field !== 1 && r.field !== 2) || r.wire !== WIRE_VARINT) return false
      r.varint()
    }
    return true
  } catch {
    return false
  }
}

export const pprofImporter: Importer = {
  id: 'pprof',
  title: 'pprof protobuf (gzipped or raw)',
  sniff(head) {
    return looksLikePprof(head) || isLegacyPprof(head)
  },
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

/** Growable typed array of numbers. */
class NumList {
  arr: Float64Array
  n = 0
  constructor(cap = 64) {
    this.arr = new Float64Array(cap)
  }
  push(v: number): void {
    if (this.n === this.arr.length) {
      const a = new Float64Array(this.arr.length * 2)
      a.set(this.arr)
      this.arr = a
    }
    this.arr[this.n++] = v
  }
  get(i: number): number {
    return this.arr[i]!
  }
}

/** Growable Int32 list (offsets into a buffer below 2 GiB, ids, indexes). */
class IntList {
  arr: Int32Array
  n = 0
  constructor(cap = 64) {
    this.arr = new Int32Array(cap)
  }
  push(v: number): void {
    // String-table indexes and ids arrive as int64: refuse what an Int32 cannot hold exactly.
    if (v !== (v | 0)) throw new ProtoError(`value ${v} out of range`)
    if (this.n === this.arr.length) {
      const a = new Int32Array(this.arr.length * 2)
      a.set(this.arr)
      this.arr = a
    }
    this.arr[this.n++] = v
  }
}

/** id -> index for pprof tables: dense array when ids are small (the usual 1..N), else a Map. */
class IdIndex {
  private dense: Int32Array | undefined
  private map: Map<number, number> | undefined
  constructor(ids: NumList, what: string) {
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
    return decode(buf, name, options)
  } catch (e) {
    if (e instanceof MeshprofError) throw e
    if (e instanceof ProtoError) throw new MalformedInputError('pprof', `${name}: ${e.message}`)
    if (e instanceof RangeError) throw new MalformedInputError('pprof', `${name}: ${e.message}`)
    throw e
  }
}

function decode(buf: Uint8Array, name: string, options: ImportOptions): Profile {
  const r = new ProtoReader(buf)

  // --- pass 1: the Profile message ---
  const typeIdx = new IntList(8)
  const unitIdx = new IntList(8)
  const sampleStart = new IntList(1024)
  const sampleEnd = new IntList(1024)
  const strStart = new IntList(1024)
  const strEnd = new IntList(1024)
  // mappings
  const mapId = new NumList(16)
  const mapFile = new IntList(16)
  const mapBuildId = new IntList(16)
  // functions
  const fnId = new NumList(256)
  const fnName = new IntList(256)
  const fnSystemName = new IntList(256)
  const fnFile = new IntList(256)
  const fnStartLine = new NumList(256)
  // locations and their lines
  const locId = new NumList(256)
  const locMapping = new NumList(256)
  const locAddrLo = new NumList(256)
  const locAddrHi = new NumList(256)
  const locLineStart = new IntList(256)
  const lineFn = new NumList(256)
  const lineNo = new NumList(256)
  let timeNanos = 0
  let durationNanos = 0
  let period = 0
  let periodType: [number, number] | undefined
  let defaultSampleType = 0
  let dropFrames = 0
  let keepFrames = 0
  const comments: number[] = []

  const sub = new ProtoReader(buf)
  const lnr = new ProtoReader(buf)
  const enter = (): void => {
    const len = r.lenStart()
    sub.pos = r.pos
    sub.end = r.pos + len
    r.pos += len
  }

  while (r.next()) {
    switch (r.field) {
      case 1:
      case 11: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`field ${r.field}: wrong wire type ${r.wire}`)
        enter()
        let t = 0
        let u = 0
        while (sub.next()) {
          if (sub.field === 1 && sub.wire === WIRE_VARINT) t = sub.int64()
          else if (sub.field === 2 && sub.wire === WIRE_VARINT) u = sub.int64()
          else sub.skip()
        }
        if (r.field === 1) { typeIdx.push(t); unitIdx.push(u) } else periodType = [t, u]
        break
      }
      case 2: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`sample: wrong wire type ${r.wire}`)
        const [s, e] = r.lenRange()
        sampleStart.push(s)
        sampleEnd.push(e)
        break
      }
      case 3: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`mapping: wrong wire type ${r.wire}`)
        enter()
        let id = 0
        let file = 0
        let build = 0
        while (sub.next()) {
          if (sub.field === 1 && sub.wire === WIRE_VARINT) id = sub.varint()
          else if (sub.field === 5 && sub.wire === WIRE_VARINT) file = sub.int64()
          else if (sub.field === 6 && sub.wire === WIRE_VARINT) build = sub.int64()
          else sub.skip()
        }
        mapId.push(id)
        mapFile.push(file)
        mapBuildId.push(build)
        break
      }
      case 4: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`location: wrong wire type ${r.wire}`)
        enter()
        let id = 0
        let mapping = 0
        let addrLo = 0
        let addrHi = 0
        locLineStart.push(lineFn.n)
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
            lineFn.push(f)
            lineNo.push(line)
          } else sub.skip()
        }
        locId.push(id)
        locMapping.push(mapping)
        locAddrLo.push(addrLo)
        locAddrHi.push(addrHi)
        break
      }
      case 5: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`function: wrong wire type ${r.wire}`)
        enter()
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
        fnId.push(id)
        fnName.push(nm)
        fnSystemName.push(sys)
        fnFile.push(file)
        fnStartLine.push(start)
        break
      }
      case 6: {
        if (r.wire !== WIRE_LEN) throw new ProtoError(`string_table: wrong wire type ${r.wire}`)
        const [s, e] = r.lenRange()
        strStart.push(s)
        strEnd.push(e)
        break
      }
      case 7: dropFrames = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      case 8: keepFrames = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      case 9: timeNanos = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      case 10: durationNanos = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      case 12: period = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      case 13: r.repeatedVarint((v) => comments.push(v), true); break
      case 14: defaultSampleType = r.wire === WIRE_VARINT ? r.int64() : (r.skip(), 0); break
      default: r.skip()
    }
  }
  locLineStart.push(lineFn.n)

  // --- strings, on demand ---
  const nStrings = strStart.n
  if (nStrings > 0 && strEnd.arr[0]! !== strStart.arr[0]!) throw new ProtoError('string_table[0] is not the empty string')
  const strCache: (string | undefined)[] = new Array(nStrings)
  let badUtf8 = false
  const str = (i: number): string => {
    if (i === 0) return ''
    if (!(i > 0 && i < nStrings)) throw new ProtoError(`string index ${i} out of range (string table has ${nStrings} entries)`)
    let s = strCache[i]
    if (s === undefined) {
      s = decodeUtf8(buf, strStart.arr[i]!, strEnd.arr[i]!)
      if (!badUtf8 && s.includes('\ufffd')) badUtf8 = true
      strCache[i] = s
    }
    return s
  }

  // --- sample types ---
  if (typeIdx.n === 0) {
    if (sampleStart.n > 0) throw new ProtoError(`${sampleStart.n} samples but no sample_type`)
    throw new ProtoError('no sample types and no samples (not a profile?)')
  }
  const valueTypes: ValueType[] = []
  for (let i = 0; i < typeIdx.n; i++) valueTypes.push({ type: str(typeIdx.arr[i]!), unit: str(unitIdx.arr[i]!) })
  const nTypes = valueTypes.length
  let defaultValue = nTypes - 1
  if (defaultSampleType) {
    const want = str(defaultSampleType)
    const i = valueTypes.findIndex((v) => v.type === want)
    if (i >= 0) defaultValue = i
  }

  // --- mappings, functions, locations ---
  const mapIndex = new IdIndex(mapId, 'mapping')
  const fnIndex = new IdIndex(fnId, 'function')
  const locIndex = new IdIndex(locId, 'location')

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
  // Per location: its frames, root (outermost caller) first.
  const nLocs = locId.n
  const locFrameStart = new Int32Array(nLocs + 1)
  const locFrameList = new IntList(nLocs + 16)
  const fnFrameCache = new Map<number, number>()
  for (let li = 0; li < nLocs; li++) {
    locFrameStart[li] = locFrameList.n
    const mid = locMapping.get(li)
    let mi = -1
    if (mid !== 0) {
      mi = mapIndex.get(mid)
      if (mi < 0) throw new ProtoError(`location ${locId.get(li)} names mapping ${mid}, which does not exist`)
    }
    const module = mi >= 0 ? str(mapFile.arr[mi]!) : ''
    const l0 = locLineStart.arr[li]!
    const l1 = locLineStart.arr[li + 1]!
    if (l1 === l0) {
      const lo = locAddrLo.get(li)
      const hi = locAddrHi.get(li)
      const hex = hi ? hi.toString(16) + lo.toString(16).padStart(8, '0') : lo.toString(16)
      const f: Frame = { name: `0x${hex}`, kind: module.startsWith('[kernel') ? 'kernel' : 'native', ...(module ? { module } : {}) }
      locFrameList.push(intern(f))
      continue
    }
    // line[0] is the innermost inlined callee: walk backwards for root-first order.
    for (let j = l1 - 1; j >= l0; j--) {
      const fid = lineFn.get(j)
      if (fid === 0) {
        // A line without a function: pprof prints it as "??".
        locFrameList.push(intern({ name: '??', kind: module.startsWith('[kernel') ? 'kernel' : 'native', ...(module ? { module } : {}) }))
        continue
      }
      const fi = fnIndex.get(fid)
      if (fi < 0) throw new ProtoError(`location ${locId.get(li)} names function ${fid}, which does not exist`)
      const cacheKey = fi * (mapId.n + 1) + (mi + 1)
      let frame = fnFrameCache.get(cacheKey)
      if (frame === undefined) {
        let nm = str(fnName.arr[fi]!)
        if (nm === '') nm = str(fnSystemName.arr[fi]!)
        const file = str(fnFile.arr[fi]!)
        const start = fnStartLine.get(fi)
        const kind = kindOf(nm, file, module)
        const mod = kind === 'js' && file ? jsModuleOf(file) : module
        // JavaScript (the agent's @datadog/pprof): one form with the inspector's frames; it records the
        // function's line in Line.line, not in start_line.
        const f: Frame = kind === 'js' && nm !== ''
          ? { ...(mod ? { module: mod } : {}), ...jsFrame(nm, file, start > 0 ? start : lineNo.get(j), undefined), kind }
          : {
            name: nm === '' ? '??' : nm,
            kind,
            ...(file ? { file } : {}),
            ...(start > 0 ? { line: start } : {}),
            ...(mod ? { module: mod } : {}),
          }
        frame = intern(f)
        fnFrameCache.set(cacheKey, frame)
      }
      locFrameList.push(frame)
    }
  }
  locFrameStart[nLocs] = locFrameList.n
  const locFrames = locFrameList.arr

  // --- pass 2: samples ---
  const nSamples = sampleStart.n
  const values: Float64Array[] = valueTypes.map(() => new Float64Array(nSamples))
  const sampleStack = new Int32Array(nSamples)
  const trie = new StackTrie(Math.min(1 << 22, Math.max(1024, nSamples * 4)))
  let labels: (Readonly<Record<string, string | number>> | undefined)[] | undefined
  const labelCache = new Map<string, Readonly<Record<string, string | number>>>()
  const labelUnits: Record<string, string> = {}
  let locScratch: Float64Array = new Float64Array(256)
  const s = new ProtoReader(buf)
  const lr = new ProtoReader(buf)
  // Samples often repeat a stack with other labels: the packed location_id bytes are looked up
  // first, so a repeated stack costs one hash of its bytes instead of a walk down the trie.
  const seqCache = new ByteSeqCache(buf, Math.min(nSamples, 1 << 20))
  const decodeLocs = (start: number, end: number, nLoc: number): number => {
    const save = s.end
    const savePos = s.pos
    s.pos = start
    s.end = end
    while (s.pos < end) {
      if (nLoc === locScratch.length) locScratch = growF64(locScratch)
      locScratch[nLoc++] = s.varint()
    }
    s.end = save
    s.pos = savePos
    return nLoc
  }
  for (let i = 0; i < nSamples; i++) {
    s.pos = sampleStart.arr[i]!
    s.end = sampleEnd.arr[i]!
    let nLoc = 0
    let nVal = 0
    let labelKey: string | undefined
    let labelParts: number[] | undefined
    // One packed location_id field is kept as a byte range (the cache key); anything else decodes.
    let seqStart = -1
    let seqEnd = -1
    while (s.next()) {
      const field = s.field
      if (field === 1) {
        if (seqStart >= 0) { nLoc = decodeLocs(seqStart, seqEnd, nLoc); seqStart = -2 }
        if (s.wire === WIRE_LEN) {
          const len = s.lenStart()
          const end = s.pos + len
          if (seqStart === -1 && nLoc === 0) {
            seqStart = s.pos
            seqEnd = end
            s.pos = end
          } else {
            nLoc = decodeLocs(s.pos, end, nLoc)
            s.pos = end
          }
        } else if (s.wire === WIRE_VARINT) {
          if (seqStart === -1) seqStart = -2
          if (nLoc === locScratch.length) locScratch = growF64(locScratch)
          locScratch[nLoc++] = s.varint()
        } else s.skip()
      } else if (field === 2) {
        if (s.wire === WIRE_LEN) {
          const len = s.lenStart()
          const end = s.pos + len
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
      } else if (field === 3 && s.wire === WIRE_LEN) {
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
        if (sv === 0 && num === 0 && unit === 0) continue
        ;(labelParts ??= []).push(k, sv, num, unit)
        labelKey = labelKey === undefined ? `${k},${sv},${num},${unit}` : `${labelKey};${k},${sv},${num},${unit}`
      } else s.skip()
    }
    if (nVal !== nTypes) throw new ProtoError(`sample ${i} has ${nVal} values for ${nTypes} sample types`)
    let st = -1
    let slot = -1
    if (seqStart >= 0) {
      slot = seqCache.find(seqStart, seqEnd)
      const hit = seqCache.stackAt(slot)
      if (hit !== -2) {
        sampleStack[i] = hit
        nLoc = -1 // done
      } else {
        nLoc = decodeLocs(seqStart, seqEnd, 0)
      }
    }
    if (nLoc >= 0) {
      // Stack: location ids are leaf first; the trie wants root first.
      let fresh = false // once a node is created, every deeper one is new too
      for (let j = nLoc - 1; j >= 0; j--) {
        const li = locIndex.get(locScratch[j]!)
        if (li < 0) throw new ProtoError(`sample ${i} names location ${locScratch[j]}, which does not exist`)
        const f1 = locFrameStart[li + 1]!
        for (let k = locFrameStart[li]!; k < f1; k++) {
          if (fresh) st = trie.append(st, locFrames[k]!)
          else {
            st = trie.child(st, locFrames[k]!)
            fresh = trie.created
          }
        }
      }
      sampleStack[i] = st
      if (slot >= 0) seqCache.insert(slot, seqStart, seqEnd, st)
    }
    if (labelKey !== undefined) {
      let obj = labelCache.get(labelKey)
      if (obj === undefined) {
        const o: Record<string, string | number> = {}
        for (let j = 0; j < labelParts!.length; j += 4) {
          const key = str(labelParts![j]!)
          const sv = labelParts![j + 1]!
          const val: string | number = sv ? str(sv) : labelParts![j + 2]!
          if (!sv && labelParts![j + 3]) labelUnits[key] = str(labelParts![j + 3]!)
          // A key given twice (pprof allows lists) keeps every value, comma-separated.
          o[key] = key in o ? `${o[key]},${val}` : val
        }
        obj = Object.freeze(o)
        labelCache.set(labelKey, obj)
      }
      ;(labels ??= new Array(nSamples).fill(undefined))[i] = obj
    }
  }
  if (badUtf8) options.warn?.(`${name}: invalid UTF-8 in the string table; replaced with U+FFFD`)

  const { stackFrame, stackParent } = trie.arrays()
  const extra: Record<string, unknown> = {}
  if (periodType) extra.periodType = { type: str(periodType[0]), unit: str(periodType[1]) }
  if (period) extra.period = period
  if (comments.length) extra.comments = comments.map(str)
  if (dropFrames) extra.dropFrames = str(dropFrames)
  if (keepFrames) extra.keepFrames = str(keepFrames)
  if (Object.keys(labelUnits).length) extra.labelUnits = labelUnits
  if (mapId.n) {
    const main = str(mapFile.arr[0]!)
    if (main) extra.mainBinary = main
    const build = str(mapBuildId.arr[0]!)
    if (build) extra.buildId = build
  }
  const periodNs = periodType && str(periodType[1]) === 'nanoseconds' && period > 0 ? period : undefined
  return {
    frames,
    stackFrame,
    stackParent,
    sampleStack,
    values,
    valueTypes,
    defaultValue,
    ...(labels ? { labels } : {}),
    meta: {
      name: basename(name),
      sourceFormat: 'pprof',
      ...(durationNanos > 0 ? { durationNs: durationNanos } : {}),
      ...(periodNs ? { periodNs } : {}),
      ...(timeNanos > 0 ? { startTimeNs: timeNanos } : {}),
      ...(Object.keys(extra).length ? { extra } : {}),
    },
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

function growF64(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2)
  b.set(a)
  return b
}

export { pickSampleType }
