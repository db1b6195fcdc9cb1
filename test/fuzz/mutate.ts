// Deterministic input mutators for the fuzzer: every case is a pure function of (seed, case index),
// so a failure is reproduced from those two numbers alone.
import { gzipSync, gunzipSync } from 'node:zlib'

/** A small fast PRNG (mulberry32) seeded from (seed, index) through a splitmix-style mix. */
export class Rng {
  private s: number
  constructor(seed: number, index: number) {
    let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35)) >>> 0
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0
    this.s = (h ^ (h >>> 16)) >>> 0
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

export function isGzip(b: Buffer): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b
}

/** Decompressed content of a seed (seeds are mutated as plain bytes and maybe re-gzipped). */
const plainCache = new WeakMap<Buffer, Buffer>()
export function plain(b: Buffer): Buffer {
  if (!isGzip(b)) return b
  let p = plainCache.get(b)
  if (!p) {
    try {
      p = gunzipSync(b)
    } catch {
      p = b
    }
    plainCache.set(b, p)
  }
  return p
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x0d, 0x09, 0x20, 0x3b, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x39, 0x2d]
const HUGE_NUMBERS = [
  '99999999999999999999999999999', '1e308', '1e309', '-1e308', '-1', '0', '-0', '4294967296', '4294967295',
  '9007199254740993', '18446744073709551615', '-9223372036854775808', '2147483648', '0.0000001', '1e-320',
  '123456789012345678901234567890123456789', '3.4028236e38', '00000000000000000000001',
]
/** Byte sequences that are not valid UTF-8: stray continuation, overlong, surrogate, truncated, 0xFF. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xfe, 0xff], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xf0, 0x9f, 0x98]]

function insert(b: Buffer, at: number, what: Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), what, b.subarray(at)])
}

/** A mutator: bytes in, bytes out, plus a short label for the counts and the repro note. */
export interface Mutation {
  name: string
  apply(rng: Rng, input: Buffer, other: Buffer): Buffer
}

function looksJson(b: Buffer): boolean {
  for (let i = 0; i < Math.min(b.length, 64); i++) {
    const c = b[i]!
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xef || c === 0xbb || c === 0xbf) continue
    return c === 0x7b || c === 0x5b
  }
  return false
}

/** Positions of runs of ASCII digits (at most `max`, scanning the first 2 MB). */
function digitRuns(b: Buffer, max: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  const n = Math.min(b.length, 2 << 20)
  for (let i = 0; i < n && out.length < max; i++) {
    if (b[i]! >= 0x30 && b[i]! <= 0x39) {
      let j = i
      while (j < n && b[j]! >= 0x30 && b[j]! <= 0x39) j++
      out.push([i, j])
      i = j
    }
  }
  return out
}

/** Protobuf varint encoding (BigInt so 64-bit values are exact). */
function varint(v: bigint): Buffer {
  const out: number[] = []
  let x = BigInt.asUintN(64, v)
  do {
    let byte = Number(x & 0x7fn)
    x >>= 7n
    if (x) byte |= 0x80
    out.push(byte)
  } while (x)
  return Buffer.from(out)
}

/** A pprof Sample (field 2) whose location_id list is `depth` long (packed field 1), value 1. */
function deepPprofSample(depth: number, locId: bigint): Buffer {
  const ids = Buffer.concat(Array.from({ length: depth }, () => varint(locId)))
  const locField = Buffer.concat([Buffer.from([0x0a]), varint(BigInt(ids.length)), ids])
  const valField = Buffer.from([0x10, 0x01]) // value: 1 (non-packed varint)
  const body = Buffer.concat([locField, valField])
  return Buffer.concat([Buffer.from([0x12]), varint(BigInt(body.length)), body])
}

export const MUTATIONS: readonly Mutation[] = [
  {
    name: 'bitflip',
    apply(rng, b) {
      if (b.length === 0) return b
      const c = Buffer.from(b)
      const n = rng.range(1, 16)
      for (let i = 0; i < n; i++) {
        const p = rng.int(c.length)
        c[p] = c[p]! ^ (1 << rng.int(8))
      }
      return c
    },
  },
  {
    name: 'bytes',
    apply(rng, b) {
      if (b.length === 0) return Buffer.from([rng.pick(INTERESTING_BYTES)])
      const c = Buffer.from(b)
      const n = rng.range(1, 8)
      for (let i = 0; i < n; i++) c[rng.int(c.length)] = rng.pick(INTERESTING_BYTES)
      return c
    },
  },
  {
    name: 'truncate',
    apply(rng, b) {
      // Bias towards cuts near the start (headers) and near the end (last record).
      const r = rng.next()
      const at = r < 0.3 ? rng.int(Math.min(b.length, 256) + 1) : r < 0.6 ? Math.max(0, b.length - 1 - rng.int(256)) : rng.int(b.length + 1)
      return b.subarray(0, at)
    },
  },
  {
    name: 'splice',
    apply(rng, b, o) {
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), o.subarray(rng.int(o.length + 1))])
    },
  },
  {
    name: 'insert-other',
    apply(rng, b, o) {
      const from = rng.int(o.length + 1)
      return insert(b, rng.int(b.length + 1), o.subarray(from, from + rng.range(1, 4096)))
    },
  },
  {
    name: 'repeat-range',
    apply(rng, b) {
      if (b.length === 0) return b
      const from = rng.int(b.length)
      const piece = b.subarray(from, from + rng.range(1, 512))
      const times = rng.pick([2, 10, 1000, 20000])
      const rep = Buffer.alloc(Math.min(piece.length * times, 1 << 20))
      for (let i = 0; i < rep.length; i += piece.length) piece.copy(rep, i)
      return insert(b, from, rep)
    },
  },
  {
    name: 'delete-range',
    apply(rng, b) {
      const from = rng.int(b.length + 1)
      return Buffer.concat([b.subarray(0, from), b.subarray(from + rng.range(1, 2048))])
    },
  },
  {
    name: 'huge-numbers',
    apply(rng, b) {
      const runs = digitRuns(b, 5000)
      if (runs.length === 0) {
        // Binary: plant an over-long / 64-bit varint somewhere.
        return insert(b, rng.int(b.length + 1), rng.chance(0.5) ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) : varint(rng.chance(0.5) ? -1n : 1n << 62n))
      }
      const parts: Buffer[] = []
      let last = 0
      const picks = new Set<number>()
      const n = rng.range(1, Math.min(runs.length, 12))
      for (let i = 0; i < n; i++) picks.add(rng.int(runs.length))
      for (const i of [...picks].sort((x, y) => x - y)) {
        const [s, e] = runs[i]!
        parts.push(b.subarray(last, s), Buffer.from(rng.pick(HUGE_NUMBERS)))
        last = e
      }
      parts.push(b.subarray(last))
      return Buffer.concat(parts)
    },
  },
  {
    name: 'deep-nesting',
    apply(rng, b) {
      const depth = rng.pick([1000, 10000, 100000])
      if (looksJson(b)) {
        // Either the whole document inside `depth` arrays, or nested arrays where a value was.
        if (rng.chance(0.3)) return Buffer.concat([Buffer.from('['.repeat(depth)), b, Buffer.from(']'.repeat(depth))])
        const s = b.toString('latin1')
        const colons: number[] = []
        for (let i = s.indexOf(':'); i >= 0 && colons.length < 2000; i = s.indexOf(':', i + 1)) colons.push(i)
        const at = colons.length ? rng.pick(colons) + 1 : rng.int(b.length + 1)
        const nest = rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
        return insert(b, at, Buffer.from(nest + ','))
      }
      if (b.length > 2 && (b[0] === 0x0a || b[0] === 0x12) && !isTextLike(b)) {
        // pprof: an extra sample whose stack is `depth` frames deep (location 1, or a bogus id).
        return Buffer.concat([b, deepPprofSample(Math.min(depth, 100000), rng.chance(0.7) ? 1n : 1n << 40n)])
      }
      const lineAt = lineStarts(b, rng)
      if (rng.chance(0.5)) {
        // perf script: one sample with `depth` frame lines.
        const frames = '\t    ffffffff81000000 deep_fn+0x1 ([kernel.kallsyms])\n'.repeat(Math.min(depth, 60000))
        return insert(b, lineAt, Buffer.from(`deep 1234 [000] 1.000000: 1 cycles:\n${frames}\n`))
      }
      // folded: one stack `depth` frames deep.
      return insert(b, lineAt, Buffer.from(`${'f;'.repeat(Math.min(depth, 200000))}leaf 1\n`))
    },
  },
  {
    name: 'invalid-utf8',
    apply(rng, b) {
      let c = b
      const n = rng.range(1, 10)
      for (let i = 0; i < n; i++) c = insert(c, rng.int(c.length + 1), Buffer.from(rng.pick(INVALID_UTF8)))
      return c
    },
  },
  {
    name: 'lines',
    apply(rng, b) {
      const lines = b.toString('latin1').split('\n')
      const op = rng.int(4)
      if (op === 0) lines.splice(rng.int(lines.length), rng.range(1, 20))
      else if (op === 1) { const i = rng.int(lines.length); lines.splice(i, 0, ...Array(Math.min(rng.pick([2, 100, 5000]), Math.floor((4 << 20) / (lines[i]!.length + 1)))).fill(lines[i])) }
      else if (op === 2) { for (let k = 0; k < 20; k++) { const i = rng.int(lines.length); const j = rng.int(lines.length); [lines[i], lines[j]] = [lines[j]!, lines[i]!] } }
      else return Buffer.from(lines.join(rng.pick(['\r\n', '\r', '\n\n', '\0'])), 'latin1')
      return Buffer.from(lines.join('\n'), 'latin1')
    },
  },
  {
    name: 'json-types',
    apply(rng, b) {
      // Replace values with other JSON types: arrays where numbers were, null, strings, objects.
      const s = b.toString('latin1')
      const repl = ['null', '[]', '{}', '"x"', 'true', '-1', '1e999', '[[1]]', '{"__proto__":{"x":1}}', '"\\ud800"', '"\\u0000"']
      const parts: string[] = []
      let last = 0
      let hits = 0
      const want = rng.range(1, 6)
      const re = /:\s*(-?\d[\d.eE+-]*|"[^"\\]{0,40}"|true|false|null|\[\]|\{\})/g
      const all = [...s.slice(0, 2 << 20).matchAll(re)]
      if (all.length === 0) return b
      for (const m of all) {
        if (hits >= want || !rng.chance(Math.min(1, (want * 2) / all.length))) continue
        const start = m.index! + m[0].length - m[1]!.length
        parts.push(s.slice(last, start), rng.pick(repl))
        last = m.index! + m[0].length
        hits++
      }
      parts.push(s.slice(last))
      return Buffer.from(parts.join(''), 'latin1')
    },
  },
  {
    name: 'json-structure',
    apply(rng, b) {
      // Past JSON.parse into the importers' own checks: bogus references (ids swapped for other
      // numbers of the document make cycles), hostile values, deleted keys, grown arrays.
      if (!looksJson(b) || b.length > 4 << 20) return b
      let doc: unknown
      try {
        doc = JSON.parse(b.toString('utf8'))
      } catch {
        return b
      }
      const slots: Array<[Record<string, unknown> | unknown[], string | number]> = []
      const nums: number[] = []
      const queue: unknown[] = [doc]
      while (queue.length && slots.length < 20000) {
        const v = queue.shift()
        if (Array.isArray(v)) v.forEach((x, i) => { slots.push([v, i]); if (typeof x === 'number') nums.push(x); else if (x && typeof x === 'object') queue.push(x) })
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { slots.push([v as Record<string, unknown>, k]); if (typeof x === 'number') nums.push(x); else if (x && typeof x === 'object') queue.push(x) }
      }
      if (slots.length === 0) return b
      const hostile = [-1, 0, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), 0.5, null, '', 'x'.repeat(100000), [], {}, true, [[[]]], { id: 1 }]
      const n = rng.range(1, 6)
      for (let k = 0; k < n; k++) {
        const [obj, key] = rng.pick(slots)
        const o = obj as Record<string | number, unknown>
        const op = rng.int(4)
        if (op === 0 && nums.length) o[key] = rng.pick(nums)
        else if (op === 1) o[key] = rng.pick(hostile)
        else if (op === 2) { if (Array.isArray(obj)) obj.splice(key as number, 1); else delete o[key] }
        else {
          const v = o[key]
          if (Array.isArray(v) && v.length) { const want = Math.min(v.length * rng.pick([2, 10, 1000]), 200000); while (v.length < want) v.push(v[v.length % Math.max(1, v.length >> 1)]) }
          else o[key] = rng.pick(hostile)
        }
      }
      try {
        return Buffer.from(JSON.stringify(doc))
      } catch {
        return b
      }
    },
  },
]

function isTextLike(b: Buffer): boolean {
  const n = Math.min(b.length, 256)
  let printable = 0
  for (let i = 0; i < n; i++) { const c = b[i]!; if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09 || c === 0x0d) printable++ }
  return printable > n * 0.9
}

function lineStarts(b: Buffer, rng: Rng): number {
  const at = rng.int(b.length + 1)
  const nl = b.indexOf(0x0a, at)
  return nl < 0 ? b.length : nl + 1
}

/** Gzip tricks applied last, on the mutated bytes. */
export interface GzipTrick {
  name: string
  apply(rng: Rng, input: Buffer, other: Buffer): Buffer
}

export const GZIP_TRICKS: readonly GzipTrick[] = [
  { name: 'gzip', apply: (_r, b) => gzipSync(b) },
  { name: 'gzip-of-gzip', apply: (_r, b) => gzipSync(gzipSync(b)) },
  { name: 'gzip-members', apply: (_r, b, o) => Buffer.concat([gzipSync(b), gzipSync(o)]) },
  { name: 'gzip-truncated', apply: (r, b) => { const g = gzipSync(b); return g.subarray(0, r.int(g.length)) } },
  { name: 'gzip-trailing-garbage', apply: (r, b) => Buffer.concat([gzipSync(b), Buffer.from('garbage\0\xff'.repeat(r.range(1, 50)), 'latin1')]) },
  { name: 'gzip-bad-crc', apply: (r, b) => { const g = Buffer.from(gzipSync(b)); g[g.length - 8 + r.int(8)] ^= 0x5a; return g } },
  { name: 'gzip-flipped', apply: (r, b) => { const g = Buffer.from(gzipSync(b)); for (let i = 0; i < 4; i++) { const p = r.int(g.length); g[p] = g[p]! ^ (1 << r.int(8)) } return g } },
  { name: 'gzip-header-only', apply: (_r, b) => gzipSync(b).subarray(0, 10) },
]

let bombCache: Buffer | undefined
/** A gzip member inflating to 300 MB of zeros (~300 KB compressed): past the 256 MB bomb floor. */
export function gzipBomb(): Buffer {
  bombCache ??= gzipSync(Buffer.alloc(300 << 20), { level: 9 })
  return bombCache
}

/** A bomb whose first member is real content (so detection picks a format), then the zero bomb. */
export function prefixedBomb(prefix: Buffer): Buffer {
  return Buffer.concat([gzipSync(prefix), gzipBomb()])
}
