// `meshprof convert` end to end, and the exporters checked by the tools that read their output:
// `go tool pprof` must read our pprof and agree on totals and per-stack values; import -> export ->
// import must give the same folded stacks and totals (pprof and speedscope).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure, CORPUS, CORPUS_SKIP, HAS_CORPUS, corpusManifest, type ManifestEntry } from '../helpers/cli.js'
import { parseRaw, rawKeys, ourKeys } from '../helpers/pprof-raw.js'
import { loadProfiles } from '../../src/formats/index.js'
import { decodePprof } from '../../src/formats/pprof.js'
import { toPprof } from '../../src/formats/pprof-export.js'
import { toFolded } from '../../src/formats/folded.js'
import { totalWeight } from '../../src/model/ops.js'
import type { Profile } from '../../src/model/types.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-convert-'))
const manifest: ManifestEntry[] = HAS_CORPUS ? await corpusManifest() : []
const HAS_GO = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
const GO_SKIP = HAS_GO ? false : 'go is not installed (apt-get install golang-go); skipping the go tool pprof checks'
if (!HAS_GO) process.stderr.write(`NOTE: ${GO_SKIP}\n`)

const app = join(CORPUS, 'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile')

function sameFoldedAndTotals(a: Profile, b: Profile, what: string): void {
  assert.equal(b.values.length, a.values.length, `${what}: value columns`)
  for (let v = 0; v < a.values.length; v++) {
    assert.equal(toFolded(b, v), toFolded(a, v), `${what}: folded stacks of ${a.valueTypes[v]!.type}`)
    assert.equal(totalWeight(b, v), totalWeight(a, v), `${what}: total of ${a.valueTypes[v]!.type}`)
  }
}

test('meshprof convert app.cpuprofile --to pprof / --to speedscope / --to folded', { skip: CORPUS_SKIP }, async () => {
  const orig = (await loadProfiles(app)).profiles[0]!
  const pb = join(dir, 'app.pb.gz')
  let r = await runCli(['convert', app, '--to', 'pprof', '-o', pb])
  assert.equal(r.code, 0, r.stderr)
  const bytes = readFileSync(pb)
  assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], 'gzipped')
  const fromPb = await loadProfiles(pb)
  assert.equal(fromPb.format, 'pprof')
  sameFoldedAndTotals(orig, fromPb.profiles[0]!, 'pprof')
  assert.equal(fromPb.profiles[0]!.valueTypes[fromPb.profiles[0]!.defaultValue]!.type, 'cpu')
  assert.equal(fromPb.profiles[0]!.meta.durationNs, orig.meta.durationNs)

  const ss = join(dir, 'x.speedscope.json')
  r = await runCli(['convert', app, '--to', 'speedscope', '-o', ss])
  assert.equal(r.code, 0, r.stderr)
  const fromSs = await loadProfiles(ss)
  assert.equal(fromSs.format, 'speedscope')
  assert.equal(toFolded(fromSs.profiles[0]!), toFolded(orig))

  r = await runCli(['convert', app, '--to', 'folded'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, toFolded(orig))
})

test('convert: a binary format to a terminal-less stdout works; unwritable -o is exit 3', { skip: CORPUS_SKIP }, async () => {
  const r = await runCli(['convert', app, '--to', 'pprof'])
  assert.equal(r.code, 0, r.stderr)
  assert.deepEqual([r.stdoutBuf[0], r.stdoutBuf[1]], [0x1f, 0x8b])
  const notDir = join(dir, 'a-file')
  writeFileSync(notDir, 'x')
  const bad = await runCli(['convert', app, '--to', 'pprof', '-o', join(notDir, 'x.pb.gz')], { timeoutMs: 20_000 })
  assert.equal(bad.code, 3, bad.stderr)
  assert.ok(isCleanFailure(bad), bad.stderr)
})

test('pprof round trip: import -> export -> import keeps folded stacks, totals, labels, default type (every corpus pprof)', { skip: CORPUS_SKIP }, async () => {
  const files = manifest.filter((e) => e.format === 'pprof').map((e) => e.file)
  assert.ok(files.length >= 15)
  for (const rel of [...files, 'cpuprofile/0x-samples-cpu-prof.cpuprofile', 'speedscope/speedscope-0.0.1-simple.speedscope.json']) {
    const a = (await loadProfiles(join(CORPUS, rel))).profiles[0]!
    const b = decodePprof(gunzipSync(toPprof(a)), rel)
    sameFoldedAndTotals(a, b, rel)
    assert.equal(b.defaultValue, a.defaultValue, `${rel}: default sample type`)
    if (a.labels) {
      const labelsOf = (p: Profile) => new Set(p.labels!.toArray().filter(Boolean).map((l) => JSON.stringify(Object.entries(l!).sort())))
      assert.deepEqual(labelsOf(b), labelsOf(a), `${rel}: label sets`)
    }
  }
  // a non-last default survives too
  const many = (await loadProfiles(join(CORPUS, 'pprof/parca-many-1644509299337903000.pb.gz'), { sampleType: 'alloc_space' })).profiles[0]!
  assert.equal(decodePprof(gunzipSync(toPprof(many)), 'x').defaultValue, 1)
})

test('go tool pprof reads our pprof export and agrees: -raw per-stack values and totals, -top total', { skip: CORPUS_SKIP || GO_SKIP }, async () => {
  const inputs = [
    'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile',
    'cpuprofile/speedscope-Chrome65-simple.cpuprofile',
    'pprof/parca-labels.pb.gz',
    'pprof/pprof-sample.cpu',
    'pprof/parca-many-1644509299337903000.pb.gz',
    'speedscope/speedscope-0.1.2-simple-sampled.speedscope.json',
  ]
  for (const rel of inputs) {
    const p = (await loadProfiles(join(CORPUS, rel))).profiles[0]!
    const file = join(dir, `${rel.replace(/\W+/g, '_')}.pb.gz`)
    writeFileSync(file, toPprof(p))
    const raw = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 })
    assert.equal(raw.status, 0, `${rel}: go tool pprof -raw failed: ${raw.stderr}`)
    const parsed = parseRaw(raw.stdout)
    assert.deepEqual(parsed.types, p.valueTypes.map((v) => `${v.type}/${v.unit}`), `${rel}: sample types`)
    assert.equal(parsed.dflt, p.defaultValue, `${rel}: default sample type`)
    for (let v = 0; v < p.values.length; v++) {
      const goTotal = parsed.samples.reduce((a, s) => a + s.values[v]!, 0)
      assert.equal(goTotal, Math.round(totalWeight(p, v)), `${rel}: total of ${parsed.types[v]}`)
    }
    // per stack (fractional weights are rounded on export, so compare on integer inputs only)
    if (p.values.every((c) => c.every(Number.isInteger))) {
      const want = ourKeys(p)
      const got = rawKeys(parsed)
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, `${rel}: ${k.slice(0, 120)}`)
      assert.equal(got.size, want.size, `${rel}: distinct stacks`)
    }
    const top = spawnSync('go', ['tool', 'pprof', '-top', '-nodecount=3', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } })
    assert.equal(top.status, 0, `${rel}: -top: ${top.stderr}`)
    assert.match(top.stdout, /Showing nodes accounting for .* of .* total/, `${rel}: -top output`)
    assert.match(top.stdout, /flat%/)
  }
})
