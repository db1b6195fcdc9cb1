// pprof importer: conformance with `go tool pprof -raw` over the corpus, sample-type selection,
// labels, inlined frames, the protobuf reader/writer, and hostile input (truncated, garbage,
// mutated, gzip bomb, 50,000-frame stack, invalid UTF-8).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { deflateRawSync, constants as zc, gzipSync, gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure, CORPUS, CORPUS_SKIP, HAS_CORPUS, corpusManifest, type ManifestEntry } from '../helpers/cli.js'
import { parseRaw, rawKeys, ourKeys } from '../helpers/pprof-raw.js'
import { loadProfiles, loadFromSource } from '../../src/formats/index.js'
import { fromBuffer } from '../../src/formats/source.js'
import { decodePprof } from '../../src/formats/pprof.js'
import { looksLikePprof } from '../../src/formats/detect.js'
import { encodePprof } from '../../src/formats/pprof-export.js'
import { ProtoError, ProtoReader, ProtoWriter } from '../../src/formats/protobuf.js'
import { stackFrames, validateProfile } from '../../src/model/builder.js'
import { MeshprofError } from '../../src/util/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-pprof-'))
const manifest: ManifestEntry[] = HAS_CORPUS ? await corpusManifest() : []

const conformance = manifest.filter((e) => e.format === 'pprof' && e.expected.pprof_raw)

test('corpus: every pprof file matches go tool pprof -raw (per-stack values, labels, totals, default type)', { skip: CORPUS_SKIP }, async () => {
  assert.ok(conformance.length >= 15, `expected the corpus's pprof files, got ${conformance.length}`)
  let checked = 0
  for (const e of conformance) {
    const raw = parseRaw(readFileSync(join(CORPUS, e.expected.pprof_raw!), 'utf8'))
    const { format, profiles } = await loadProfiles(join(CORPUS, e.file))
    assert.equal(format, 'pprof', e.file)
    assert.equal(profiles.length, 1)
    const p = profiles[0]!
    assert.deepEqual(validateProfile(p), [], e.file)
    // The documented choice (pprof.ts header): negative values (delta profiles) are read as 0.
    const negatives = raw.samples.reduce((n, s) => n + s.values.filter((x) => x < 0).length, 0)
    assert.equal(p.meta.extra?.negativeValuesDropped ?? 0, negatives, `${e.file}: negative values read as 0`)
    // ... and a sample left without a positive value is dropped.
    raw.samples = raw.samples.filter((s) => !(s.values.some((x) => x < 0) && s.values.every((x) => x <= 0)))
    for (const s of raw.samples) s.values = s.values.map((x) => Math.max(0, x))
    assert.deepEqual(p.valueTypes.map((v) => `${v.type}/${v.unit}`), raw.types, `${e.file}: sample types`)
    assert.equal(p.defaultValue, raw.dflt, `${e.file}: default sample type`)
    for (let v = 0; v < raw.types.length; v++) {
      const want = raw.samples.reduce((a, s) => a + s.values[v]!, 0)
      const got = p.values[v]!.reduce((a, x) => a + x, 0)
      assert.equal(got, want, `${e.file}: total of ${raw.types[v]}`)
    }
    const want = rawKeys(raw)
    const got = ourKeys(p)
    const differ = [...want].filter(([k, v]) => got.get(k)?.join(' ') !== v.join(' ')).map(([k, v]) => `${k} -> raw ${v.join(' ')}, ours ${got.get(k)?.join(' ')}`)
    assert.deepEqual(differ.slice(0, 3), [], `${e.file}: stacks whose values differ from -raw`)
    assert.equal(got.size, want.size, `${e.file}: distinct stacks`)
    checked++
  }
  assert.equal(checked, conformance.length)
})

test('corpus: inlined lines become separate frames, innermost last', { skip: CORPUS_SKIP }, async () => {
  const { profiles } = await loadProfiles(join(CORPUS, 'pprof/pprof-sample.cpu'))
  const p = profiles[0]!
  const stacks = new Set<string>()
  for (let r = 0; r < p.sampleStack.length; r++) stacks.add(stackFrames(p, p.sampleStack[r]!).map((f) => p.frames[f]!.name).join(';'))
  assert.ok([...stacks].some((s) => s.endsWith('runtime.mapassign_fast64;runtime.tooManyOverflowBuckets')), [...stacks].join('\n'))
  const f = p.frames.find((x) => x.name === 'main.busyLoop')!
  assert.equal(f.kind, 'native')
  assert.match(f.file!, /sample\.go$/)
  assert.match(f.module!, /sample\.bin$/)
  assert.equal(Math.round(p.meta.durationNs! / 1e7), 200) // -raw: "Duration: 2.00"
  assert.equal(p.meta.periodNs, 10000000)
})

test('corpus: bad pprof inputs fail with one line and exit 4', { skip: CORPUS_SKIP }, async () => {
  const bad = manifest.filter((e) => e.format === 'pprof-bad' || e.expected.pprof_error)
  assert.ok(bad.length >= 3)
  for (const e of bad) {
    for (const extra of [[], ['--format', 'pprof']]) {
      const r = await runCli(['top', join(CORPUS, e.file), ...extra])
      assert.equal(r.code, 4, `${e.file} ${extra.join(' ')}: ${r.stderr}`)
      assert.ok(isCleanFailure(r), r.stderr)
    }
  }
})

test('corpus: legacy (pre-protobuf) pprof files are refused clearly, exit 4', { skip: CORPUS_SKIP }, async () => {
  const legacy = manifest.filter((e) => e.format.startsWith('pprof-legacy'))
  assert.ok(legacy.length >= 5)
  for (const e of legacy) {
    await assert.rejects(loadProfiles(join(CORPUS, e.file)), (err: unknown) => {
      assert.ok(err instanceof MeshprofError, String(err))
      assert.equal(err.exitCode, 4)
      assert.match(err.message, /legacy \(pre-protobuf\) pprof profile.*go tool pprof -proto/, e.file)
      return true
    })
  }
  const r = await runCli(['top', join(CORPUS, legacy[0]!.file)])
  assert.equal(r.code, 4, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
})

test('--sample-type picks a column by name, type/unit or index; unknown lists the choices (exit 2)', { skip: CORPUS_SKIP }, async () => {
  const file = join(CORPUS, 'pprof/parca-many-1644509299337903000.pb.gz')
  const raw = parseRaw(readFileSync(join(CORPUS, 'pprof/expected/parca-many-1644509299337903000.pb.gz.pprof-raw.txt'), 'utf8'))
  const sum = (v: number) => raw.samples.reduce((a, s) => a + s.values[v]!, 0)
  const dflt = JSON.parse((await runCli(['top', file, '--json'])).stdout)
  assert.equal(dflt.valueType, 'inuse_space')
  assert.equal(dflt.total, sum(3))
  for (const sel of ['alloc_space', 'alloc_space/bytes', '1']) {
    const r = await runCli(['top', file, '--json', '--sample-type', sel])
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    assert.equal(j.valueType, 'alloc_space')
    assert.equal(j.total, sum(1))
  }
  const bad = await runCli(['top', file, '--sample-type', 'cpu'])
  assert.equal(bad.code, 2)
  assert.ok(isCleanFailure(bad), bad.stderr)
  assert.match(bad.stderr, /--sample-type 'cpu'.*alloc_objects\/count.*inuse_space\/bytes/)
})

test('stdin: gzipped and raw pprof read from -', { skip: CORPUS_SKIP }, async () => {
  const raw = readFileSync(join(CORPUS, 'pprof/parca-fib.pb'))
  for (const input of [raw, gzipSync(raw)]) {
    const r = await runCli(['top', '-', '--json'], { input })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).total, 29740000000)
  }
})

test('sniff: every corpus pprof is pprof by content; no text or JSON corpus file is', { skip: CORPUS_SKIP }, async () => {
  for (const e of manifest) {
    const file = join(CORPUS, e.file)
    if (e.format !== 'pprof' && e.format.startsWith('pprof')) continue // bad and legacy: tested above
    let bytes = readFileSync(file)
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes)
    const head = bytes.subarray(0, 64 * 1024)
    if (e.format === 'pprof') assert.ok(looksLikePprof(head), e.file)
    else if (!e.tags.includes('binary')) assert.ok(!looksLikePprof(head), e.file)
  }
})

// ---- protobuf reader / writer ----------------------------------------------------------------

test('protobuf: varints and int64 round-trip at the edges; bad lengths throw ProtoError', () => {
  const vals = [0, 1, 127, 128, 300, 2 ** 28 - 1, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 5, 2 ** 53 - 1]
  const neg = [-1, -2, -128, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40) + 3, -(2 ** 53) + 1]
  const w = new ProtoWriter()
  const m = w.fork()
  w.packed(1, vals)
  w.packed(2, neg, true)
  w.ldelim(7, m)
  w.string(8, 'héllo')
  const buf = w.finish()
  const r = new ProtoReader(buf)
  assert.ok(r.next())
  assert.equal(r.field, 7)
  const len = r.lenStart()
  const inner = new ProtoReader(buf, r.pos, r.pos + len)
  r.pos += len
  const got: number[] = []
  const gotNeg: number[] = []
  while (inner.next()) {
    if (inner.field === 1) inner.repeatedVarint((v) => got.push(v))
    else inner.repeatedVarint((v) => gotNeg.push(v), true)
  }
  assert.deepEqual(got, vals)
  assert.deepEqual(gotNeg, neg)
  assert.ok(r.next())
  const [s, e] = r.lenRange()
  assert.equal(Buffer.from(buf.subarray(s, e)).toString('utf8'), 'héllo')
  assert.equal(r.next(), false)
  const exact = Uint8Array.from([0x80, 0x80, 0x80, 0x88, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01]) // 0xffffffff81000000
  const ar = new ProtoReader(exact)
  ar.varintParts()
  assert.equal(ar.hi.toString(16) + ar.lo.toString(16).padStart(8, '0'), 'ffffffff81000000')
  assert.throws(() => { const t = new ProtoReader(Uint8Array.from([0x0a, 0x05, 1, 2])); t.next(); t.lenRange() }, ProtoError)
  assert.throws(() => new ProtoReader(Uint8Array.from([0x80, 0x80])).varint(), ProtoError)
  assert.throws(() => new ProtoReader(Uint8Array.from(new Array(11).fill(0xff))).varint(), ProtoError)
})

// ---- synthetic profiles ----------------------------------------------------------------------

/** A small pprof: functions a..e, `stacks` as leaf-first function ids, optional labels/default. */
function makePprof(opts: { stacks: number[][]; values?: number[][]; names?: string[]; defaultType?: string; labels?: boolean }): Uint8Array {
  const w = new ProtoWriter()
  const strings = ['']
  const index = new Map([['', 0]])
  const S = (s: string) => { let i = index.get(s); if (i === undefined) { i = strings.length; strings.push(s); index.set(s, i) } return i }
  for (const [t, u] of [['samples', 'count'], ['cpu', 'nanoseconds']] as const) { const m = w.fork(); w.int(1, S(t)); w.int(2, S(u)); w.ldelim(1, m) }
  opts.stacks.forEach((st, i) => {
    const m = w.fork()
    w.packed(1, st)
    w.packed(2, opts.values?.[i] ?? [1, 10_000_000], true)
    if (opts.labels) { const l = w.fork(); w.int(1, S('peer')); w.int(2, S(`p${i % 2}`)); w.ldelim(3, l) }
    w.ldelim(2, m)
  })
  const names = opts.names ?? ['a', 'b', 'c', 'd', 'e']
  const maxId = opts.stacks.flat().reduce((a, b) => Math.max(a, b), names.length)
  for (let id = 1; id <= maxId; id++) { const m = w.fork(); w.uint(1, id); const l = w.fork(); w.uint(1, ((id - 1) % names.length) + 1); w.int(2, id); w.ldelim(4, l); w.ldelim(4, m) }
  names.forEach((n, i) => { const m = w.fork(); w.uint(1, i + 1); w.int(2, S(n)); w.int(4, S('main.go')); w.ldelim(5, m) })
  const dflt = opts.defaultType ? S(opts.defaultType) : 0
  for (const s of strings) w.string(6, s)
  w.int(14, dflt)
  return w.finish()
}

test('default_sample_type is honoured; otherwise the last type is the default', async () => {
  assert.equal(decodePprof(makePprof({ stacks: [[2, 1]] }), 'x').defaultValue, 1)
  assert.equal(decodePprof(makePprof({ stacks: [[2, 1]], defaultType: 'samples' }), 'x').defaultValue, 0)
  // --sample-type is applied by the loader, the same way for every format
  assert.equal((await loadFromSource(fromBuffer('x', Buffer.from(makePprof({ stacks: [[2, 1]], defaultType: 'samples' }))), { sampleType: 'cpu' })).profiles[0]!.defaultValue, 1)
})

test('repeated stacks with different labels: one row each, labels kept, same stack id', () => {
  const p = decodePprof(makePprof({ stacks: [[3, 2, 1], [3, 2, 1], [2, 1]], labels: true }), 'x')
  assert.equal(p.sampleStack.length, 3)
  assert.equal(p.sampleStack[0], p.sampleStack[1])
  assert.deepEqual(p.labels?.toArray().map((l) => l?.peer), ['p0', 'p1', 'p0'])
  assert.deepEqual(stackFrames(p, p.sampleStack[0]!).map((f) => p.frames[f]!.name), ['a', 'b', 'c'])
})

test('a 50,000-frame-deep stack imports, ranks and exports without recursion', async () => {
  const depth = 50_000
  const stack = Array.from({ length: depth }, (_, i) => depth - i) // leaf first: 50000..1
  const names = Array.from({ length: depth }, (_, i) => `f${i}`)
  const file = join(dir, 'deep.pb')
  writeFileSync(file, makePprof({ stacks: [stack], names }))
  const r = await runCli(['top', file, '--json', '--limit', '1'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.equal(j.rows[0].name, 'f49999')
  assert.equal(j.groups, depth)
  const out = join(dir, 'deep-again.pb.gz')
  const c = await runCli(['convert', file, '--to', 'pprof', '-o', out])
  assert.equal(c.code, 0, c.stderr)
  const back = (await loadProfiles(out)).profiles[0]!
  assert.equal(stackFrames(back, back.sampleStack[0]!).length, depth)
})

test('invalid UTF-8 in the string table is replaced (U+FFFD), with a --verbose warning', async () => {
  const good = makePprof({ stacks: [[2, 1]], names: ['mainXX', 'leaf'] })
  const bytes = Buffer.from(good)
  const at = bytes.indexOf(Buffer.from('mainXX'))
  bytes[at + 4] = 0xff
  bytes[at + 5] = 0xfe
  const file = join(dir, 'badutf8.pb')
  writeFileSync(file, bytes)
  const r = await runCli(['top', file, '--json', '--verbose'])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(JSON.parse(r.stdout).rows.some((x: { name: string }) => x.name === 'main\ufffd\ufffd'), r.stdout)
  assert.match(r.stderr, /invalid UTF-8/)
})

// ---- hostile input ---------------------------------------------------------------------------

test('truncated pprof at any point: a MeshprofError, never a crash', { skip: CORPUS_SKIP }, async () => {
  const whole = readFileSync(join(CORPUS, 'pprof/parca-fib.pb'))
  let failures = 0
  for (let cut = 1; cut < whole.length; cut += 97) {
    try {
      await loadFromSource(fromBuffer('cut.pb', whole.subarray(0, cut)), { format: 'pprof' })
    } catch (e) {
      assert.ok(e instanceof MeshprofError, `cut at ${cut}: ${(e as Error).stack}`)
      assert.equal(e.exitCode, 4)
      failures++
    }
  }
  assert.ok(failures > 100)
  const file = join(dir, 'truncated.pb')
  writeFileSync(file, whole.subarray(0, whole.length >> 1))
  const r = await runCli(['top', file])
  assert.equal(r.code, 4, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /malformed pprof input: .*truncated\.pb: /)
})

test('mutated pprof bytes: either a profile or a MeshprofError (300 seeded mutations)', { skip: CORPUS_SKIP }, async () => {
  const whole = readFileSync(join(CORPUS, 'pprof/parca-profile1.pb.gz'))
  const raw = gunzipSync(whole)
  let seed = 7
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
  for (let k = 0; k < 300; k++) {
    const b = Buffer.from(raw)
    for (let j = 0; j < 1 + Math.floor(rnd() * 8); j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
    try {
      const p = decodePprof(b, 'mut.pb')
      assert.deepEqual(validateProfile(p), [])
    } catch (e) {
      assert.ok(e instanceof MeshprofError, `mutation ${k}: ${(e as Error).stack}`)
    }
  }
})

test('binary garbage and a truncated gzip: one line, exit 4', async () => {
  let seed = 99
  const garbage = Buffer.alloc(100_000)
  for (let i = 0; i < garbage.length; i++) garbage[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24
  const g = join(dir, 'garbage.bin')
  writeFileSync(g, garbage)
  for (const extra of [[], ['--format', 'pprof']]) {
    const r = await runCli(['top', g, ...extra])
    assert.equal(r.code, 4, r.stderr)
    assert.ok(isCleanFailure(r), r.stderr)
  }
  const gz = gzipSync(makePprof({ stacks: [[2, 1], [3, 1]] }))
  const t = join(dir, 'cut.pb.gz')
  writeFileSync(t, gz.subarray(0, gz.length - 12))
  const r = await runCli(['top', t])
  assert.equal(r.code, 4, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
})

test('gzip bomb (5 GiB of zeros in ~5 MB) is refused early: exit 4, well under the time to inflate it', async () => {
  // Non-final deflate blocks of 1 MiB of zeros, byte-aligned by a sync flush, repeated 5120 times.
  const block = deflateRawSync(Buffer.alloc(1 << 20), { level: 9, finishFlush: zc.Z_SYNC_FLUSH })
  const parts = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])]
  for (let i = 0; i < 5120; i++) parts.push(block)
  parts.push(Buffer.from([0x03, 0x00]), Buffer.alloc(8))
  const file = join(dir, 'bomb.pb.gz')
  writeFileSync(file, Buffer.concat(parts))
  for (const extra of [[], ['--format', 'pprof'], ['--format', 'cpuprofile']]) {
    const t0 = Date.now()
    const r = await runCli(['top', file, ...extra], { timeoutMs: 30_000 })
    assert.equal(r.code, 4, r.stderr)
    assert.ok(isCleanFailure(r), r.stderr)
    if (extra.length) assert.match(r.stderr, /gzip bomb/)
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`)
  }
})
