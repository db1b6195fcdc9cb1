// speedscope JSON: import (sampled, evented, several profiles) against speedscope's own snapshots,
// invalid event orders, and export validated with a real JSON-schema validator (ajv) against the
// file-format-schema.json the speedscope package ships.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure, CORPUS, CORPUS_SKIP, HAS_CORPUS, corpusManifest, ROOT, type ManifestEntry } from '../helpers/cli.js'
import { loadProfiles } from '../../src/formats/index.js'
import { parseSpeedscopeJson } from '../../src/formats/speedscope.js'
import { toSpeedscope } from '../../src/formats/speedscope-export.js'
import { toFolded } from '../../src/formats/folded.js'
import { stackFrames, validateProfile } from '../../src/model/builder.js'
import { totalWeight } from '../../src/model/ops.js'
import type { Profile } from '../../src/model/types.js'

const require = createRequire(import.meta.url)
const dir = mkdtempSync(join(tmpdir(), 'meshprof-speedscope-'))
const manifest: ManifestEntry[] = HAS_CORPUS ? await corpusManifest() : []

/** A compiled validator for speedscope's file-format-schema.json. */
export function speedscopeValidator(): (data: unknown) => string | undefined {
  const Ajv = require('ajv') as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] } }
  const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules/speedscope/dist/release/file-format-schema.json'), 'utf8'))
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)
  return (data) => (validate(data) ? undefined : JSON.stringify(validate.errors).slice(0, 500))
}

function selfTotal(p: Profile): Map<string, { self: number; total: number }> {
  const out = new Map<string, { self: number; total: number }>()
  const col = p.values[p.defaultValue]!
  for (let r = 0; r < p.sampleStack.length; r++) {
    const names = p.sampleStack[r]! < 0 ? [] : stackFrames(p, p.sampleStack[r]!).map((f) => p.frames[f]!.name)
    names.forEach((n, i) => {
      const e = out.get(n) ?? { self: 0, total: 0 }
      if (i === names.length - 1) e.self += col[r]!
      if (names.indexOf(n) === i) e.total += col[r]!
      out.set(n, e)
    })
  }
  return out
}

function snapshotWeights(text: string): Map<string, { self: number; total: number }> {
  const out = new Map<string, { self: number; total: number }>()
  for (const m of text.matchAll(/Frame \{([^}]*)\}/g)) {
    const get = (k: string) => new RegExp(`"${k}": ([^,\\n]+),`).exec(m[1]!)![1]!
    out.set(JSON.parse(get('name')), { self: Number(get('selfWeight')), total: Number(get('totalWeight')) })
  }
  return out
}

test('corpus: sampled and evented files match speedscope\'s own self/total weights', { skip: CORPUS_SKIP }, async () => {
  const files = manifest.filter((e) => e.format === 'speedscope' && !e.tags.includes('bad-input'))
  assert.equal(files.length, 2)
  for (const e of files) {
    const { format, profiles } = await loadProfiles(join(CORPUS, e.file))
    assert.equal(format, 'speedscope', `${e.file}: detected`)
    assert.equal(profiles.length, 1)
    const p = profiles[0]!
    assert.deepEqual(validateProfile(p), [])
    const want = snapshotWeights(readFileSync(join(CORPUS, e.expected.speedscope_snapshot!), 'utf8'))
    const got = selfTotal(p)
    // sampled file is in seconds (our column is ns); evented one has unit "none"
    const scale = p.valueTypes[0]!.unit === 'nanoseconds' ? 1e9 : 1
    for (const [name, w] of want) {
      assert.equal((got.get(name)?.self ?? 0) / scale, w.self, `${e.file}: self of ${name}`)
      assert.equal((got.get(name)?.total ?? 0) / scale, w.total, `${e.file}: total of ${name}`)
    }
  }
})

test('corpus: evented rows keep their time order and start times', { skip: CORPUS_SKIP }, async () => {
  const p = (await loadProfiles(join(CORPUS, 'speedscope/speedscope-0.0.1-simple.speedscope.json'))).profiles[0]!
  const rows = Array.from(p.sampleStack, (s, r) => `${stackFrames(p, s).map((f) => p.frames[f]!.name).join(';')} ${p.values[0]![r]}`)
  assert.deepEqual(rows, ['a;b;c 2', 'a;b;d 4', 'a;b;c 3', 'a;b 5']) // speedscope's "stacks"
})

test('corpus: out-of-order events are refused with one line, exit 4', { skip: CORPUS_SKIP }, async () => {
  const r = await runCli(['top', join(CORPUS, 'speedscope/speedscope-invalid-out-of-order-events.json')])
  assert.equal(r.code, 4, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /malformed speedscope input: .*closes frame "B" while frame "A" is on top \(at 4\)/)
})

test('several profiles in one file become several Profiles; time units become ns', () => {
  const ps = parseSpeedscopeJson({
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames: [{ name: 'main', file: '/app/main.js', line: 3, col: 7 }, { name: 'work' }] },
    profiles: [
      { type: 'sampled', name: 'thread 1', unit: 'milliseconds', startValue: 0, endValue: 5, samples: [[0, 1], [0]], weights: [3, 2] },
      { type: 'evented', name: 'thread 2', unit: 'microseconds', startValue: 10, endValue: 20, events: [{ type: 'O', frame: 0, at: 10 }, { type: 'O', frame: 1, at: 12 }, { type: 'C', frame: 1, at: 15 }, { type: 'C', frame: 0, at: 20 }] },
    ],
  }, 'multi.json')
  assert.equal(ps.length, 2)
  assert.deepEqual(ps.map((p) => p.meta.name), ['thread 1', 'thread 2'])
  assert.deepEqual(Array.from(ps[0]!.values[0]!), [3e6, 2e6])
  assert.deepEqual(Array.from(ps[0]!.times!), [0, 3e6])
  assert.deepEqual(Array.from(ps[1]!.values[0]!), [2e3, 3e3, 5e3])
  assert.deepEqual(Array.from(ps[1]!.times!), [0, 2e3, 5e3])
  assert.equal(ps[1]!.valueTypes[0]!.type, 'wall')
  const main = ps[0]!.frames.find((f) => f.name === 'main')!
  assert.deepEqual({ ...main }, { name: 'main', kind: 'js', file: '/app/main.js', line: 3, col: 7, module: '/app/main.js' })
})

test('bad speedscope files: one clear line, exit 4', async () => {
  const frames = { frames: [{ name: 'A' }, { name: 'B' }] }
  const base = { $schema: 'https://www.speedscope.app/file-format-schema.json', shared: frames }
  const cases: Record<string, string> = {
    'time-goes-back': JSON.stringify({ ...base, profiles: [{ type: 'evented', name: 'p', unit: 'none', startValue: 0, endValue: 9, events: [{ type: 'O', frame: 0, at: 5 }, { type: 'C', frame: 0, at: 3 }] }] }),
    'close-unopened': JSON.stringify({ ...base, profiles: [{ type: 'evented', name: 'p', unit: 'none', startValue: 0, endValue: 9, events: [{ type: 'C', frame: 0, at: 1 }] }] }),
    'bad-frame-index': JSON.stringify({ ...base, profiles: [{ type: 'sampled', name: 'p', unit: 'none', startValue: 0, endValue: 9, samples: [[0, 7]], weights: [1] }] }),
    'weights-mismatch': JSON.stringify({ ...base, profiles: [{ type: 'sampled', name: 'p', unit: 'none', startValue: 0, endValue: 9, samples: [[0]], weights: [1, 2] }] }),
    'unknown-type': JSON.stringify({ ...base, profiles: [{ type: 'flat', name: 'p' }] }),
    truncated: JSON.stringify({ ...base, profiles: [] }).slice(0, 60),
    'deeply-nested': '{"$schema":"speedscope","shared":{"frames":' + '['.repeat(300_000) + ']'.repeat(300_000) + '},"profiles":[]}',
  }
  for (const [name, body] of Object.entries(cases)) {
    const f = join(dir, `${name}.speedscope.json`)
    writeFileSync(f, body)
    const r = await runCli(['top', f, '--format', 'speedscope'])
    assert.equal(r.code, 4, `${name}: ${r.stderr}`)
    assert.ok(isCleanFailure(r), `${name}: ${r.stderr}`)
    assert.match(r.stderr, /malformed speedscope input/, name)
  }
})

test('50,000-deep stacks, sampled and evented: import, export, re-import', async () => {
  const depth = 50_000
  const frames = Array.from({ length: depth }, (_, i) => ({ name: `f${i}` }))
  const stack = Array.from({ length: depth }, (_, i) => i)
  const events = [...stack.map((i) => ({ type: 'O', frame: i, at: 0 })), ...stack.reverse().map((i) => ({ type: 'C', frame: i, at: 5 }))]
  const file = join(dir, 'deep.speedscope.json')
  writeFileSync(file, JSON.stringify({
    $schema: 'https://www.speedscope.app/file-format-schema.json', shared: { frames },
    profiles: [
      { type: 'sampled', name: 's', unit: 'none', startValue: 0, endValue: 1, samples: [[...stack].reverse()], weights: [1] },
      { type: 'evented', name: 'e', unit: 'none', startValue: 0, endValue: 5, events },
    ],
  }))
  const r = await runCli(['top', file, '--json', '--limit', '1'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).rows[0].name, `f${depth - 1}`)
  const out = join(dir, 'deep-out.speedscope.json')
  const c = await runCli(['convert', file, '--to', 'speedscope', '-o', out])
  assert.equal(c.code, 0, c.stderr)
  const back = (await loadProfiles(out)).profiles
  assert.equal(back.length, 2)
  for (const p of back) assert.equal(stackFrames(p, p.sampleStack[0]!).length, depth)
})

test('export: valid against speedscope\'s file-format-schema.json (ajv), round-trips folded stacks and totals', { skip: CORPUS_SKIP }, async () => {
  const validate = speedscopeValidator()
  const inputs = [
    'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile',
    'cpuprofile/speedscope-Chrome65-simple.cpuprofile',
    'pprof/parca-labels.pb.gz',
    'pprof/pprof-sample.cpu',
    'speedscope/speedscope-0.0.1-simple.speedscope.json',
    'speedscope/speedscope-0.1.2-simple-sampled.speedscope.json',
    'chrome-trace/speedscope-Chrome70-worker.json',
  ]
  for (const rel of inputs) {
    const { profiles } = await loadProfiles(join(CORPUS, rel), rel.startsWith('chrome-trace') ? { format: 'cpuprofile' } : {})
    const text = toSpeedscope(profiles, rel)
    const json = JSON.parse(text)
    assert.equal(validate(json), undefined, `${rel}: schema`)
    assert.equal(json.profiles.length, profiles.length, `${rel}: one speedscope profile per profile`)
    const back = parseSpeedscopeJson(json, rel)
    profiles.forEach((p, i) => {
      assert.equal(toFolded(back[i]!), toFolded(p), `${rel} #${i}: folded stacks`)
      assert.equal(totalWeight(back[i]!), totalWeight(p), `${rel} #${i}: total`)
    })
    if (rel.endsWith('.cpuprofile')) {
      const withPos = json.shared.frames.find((f: { line?: number }) => f.line !== undefined)
      assert.ok(withPos && typeof withPos.col === 'number', `${rel}: frames carry line and col`)
      assert.ok(json.shared.frames.some((f: { file?: string }) => f.file !== undefined) || rel.includes('Chrome65'), `${rel}: frames carry file`)
    }
  }
  // the validator is real: a broken file fails it
  assert.notEqual(validate({ $schema: 'https://www.speedscope.app/file-format-schema.json', shared: { frames: [] }, profiles: [{ type: 'sampled', name: 'x', unit: 'parsecs' }] }), undefined)
})

test('detection: $schema or shared.frames + profiles, from the content', async () => {
  const body = JSON.stringify({ profiles: [{ type: 'sampled', name: 'p', unit: 'none', startValue: 0, endValue: 1, samples: [[0]], weights: [1] }], shared: { frames: [{ name: 'only' }] } })
  const f = join(dir, 'noschema.txt')
  writeFileSync(f, body)
  const r = await runCli(['top', f, '--json', '--verbose'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /detected speedscope/)
  assert.equal(JSON.parse(r.stdout).rows[0].name, 'only')
})
