// V8 .cpuprofile importer: corpus facts (jq counts) and speedscope snapshots, every accepted shape
// (current, {profile}, old head tree, DevTools trace), frame kinds and modules, timestamps, and
// hostile input (truncated, cycles, dangling ids, deep nesting, 50,000-deep stacks, bad UTF-8).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure, CORPUS, CORPUS_SKIP, HAS_CORPUS, corpusManifest, type ManifestEntry } from '../helpers/cli.js'
import { loadProfiles } from '../../src/formats/index.js'
import { jsModuleOf, parseCpuprofileBuffer } from '../../src/formats/cpuprofile.js'
import { scanCpuprofile } from '../../src/formats/cpuprofile-scan.js'
import { stackFrames, validateProfile } from '../../src/model/builder.js'
import type { Profile } from '../../src/model/types.js'
import { loadFromSource } from '../../src/formats/index.js'
import { fromBuffer } from '../../src/formats/source.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-cpuprofile-'))
const manifest: ManifestEntry[] = HAS_CORPUS ? await corpusManifest() : []
const cpuprofiles = manifest.filter((e) => e.format === 'cpuprofile')

function leafName(p: Profile, row: number): string {
  const s = p.sampleStack[row]!
  return s < 0 ? '(root)' : p.frames[p.stackFrame[s]!]!.name
}

interface Facts {
  nodes?: number
  treeNodes?: number
  samples: number
  timestamps?: number
  startTime: number
  endTime: number
  sumTimeDeltas?: number
  topSelfSamplesByFunctionName: { functionName: string; samples: number }[]
}

test('corpus: every cpuprofile matches its jq facts (samples, self samples per function, times)', { skip: CORPUS_SKIP }, async () => {
  assert.ok(cpuprofiles.length >= 4)
  for (const e of cpuprofiles) {
    const facts: Facts = JSON.parse(readFileSync(join(CORPUS, e.expected.facts!), 'utf8'))
    const { format, profiles } = await loadProfiles(join(CORPUS, e.file))
    assert.equal(format, 'cpuprofile', `${e.file}: detected from content`)
    assert.equal(profiles.length, 1)
    const p = profiles[0]!
    assert.deepEqual(validateProfile(p), [], e.file)
    assert.deepEqual(p.valueTypes, [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }])
    assert.equal(p.valueTypes[p.defaultValue]!.type, 'cpu')
    assert.equal(p.sampleStack.length, facts.samples, `${e.file}: one row per sample`)
    assert.equal(p.values[0]!.reduce((a, b) => a + b, 0), facts.samples)
    const self = new Map<string, number>()
    for (let r = 0; r < p.sampleStack.length; r++) self.set(leafName(p, r), (self.get(leafName(p, r)) ?? 0) + 1)
    for (const { functionName, samples } of facts.topSelfSamplesByFunctionName) {
      const name = functionName === '' ? '(anonymous)' : functionName
      assert.equal(self.get(name), samples, `${e.file}: self samples of '${name}'`)
    }
    assert.ok(p.times, 'timestamps kept')
    for (let r = 1; r < p.times!.length; r++) assert.ok(p.times![r]! >= p.times![r - 1]!, `${e.file}: times in order`)
    if (facts.sumTimeDeltas !== undefined) {
      const raw = JSON.parse(readFileSync(join(CORPUS, e.file), 'utf8'))
      // first sample at startTime + timeDeltas[0]; cpu time runs from it to endTime
      let t = 0
      let first = Infinity
      for (const d of raw.timeDeltas as number[]) { t += d; first = Math.min(first, t) }
      assert.equal(p.times![0], first * 1000)
      // cpu time runs from the first sample (in time order) to endTime
      const cpu = p.values[1]!.reduce((a, b) => a + b, 0)
      assert.equal(cpu, (facts.endTime - facts.startTime) * 1000 - p.times![0]!, e.file)
      assert.equal(p.meta.durationNs, (facts.endTime - facts.startTime) * 1000)
    }
  }
})

/** Frames (name, line, col, self, total) from a speedscope jest snapshot. */
function snapshotFrames(text: string): { name: string; line?: number; col?: number; self: number; total: number }[] {
  const out = []
  for (const m of text.matchAll(/Frame \{([^}]*)\}/g)) {
    const body = m[1]!
    const get = (k: string) => new RegExp(`"${k}": ([^,\\n]+),`).exec(body)?.[1]
    const num = (k: string) => { const v = get(k); return v === undefined || v === 'undefined' ? undefined : Number(v) }
    out.push({ name: JSON.parse(get('name')!), line: num('line'), col: num('col'), self: num('selfWeight')!, total: num('totalWeight')! })
  }
  return out
}

test('corpus: Chrome .cpuprofile self/total times equal speedscope\'s (which gives the last sample 0)', { skip: CORPUS_SKIP }, async () => {
  const e = cpuprofiles.find((x) => x.file.endsWith('speedscope-Chrome65-simple.cpuprofile'))!
  const want = snapshotFrames(readFileSync(join(CORPUS, e.expected.speedscope_snapshot!), 'utf8'))
  assert.equal(want.length, 5)
  const p = (await loadProfiles(join(CORPUS, e.file))).profiles[0]!
  const last = p.sampleStack.length - 1
  for (const w of want) {
    let self = 0
    let total = 0
    for (let r = 0; r < p.sampleStack.length; r++) {
      const us = r === last ? 0 : p.values[1]![r]! / 1000
      const fr = stackFrames(p, p.sampleStack[r]!).map((f) => p.frames[f]!)
      const leaf = fr[fr.length - 1]!
      const match = (f: typeof leaf) => f.name === w.name && f.line === w.line && f.col === w.col
      if (match(leaf)) self += us
      if (fr.some(match)) total += us
    }
    assert.equal(Math.round(self), w.self, `${w.name}:${w.line}:${w.col} self`)
    assert.equal(Math.round(total), w.total, `${w.name}:${w.line}:${w.col} total`)
  }
})

test('corpus: old Node 10 tree format gives the same stacks as the Chrome file it mirrors', { skip: CORPUS_SKIP }, async () => {
  const oldP = (await loadProfiles(join(CORPUS, 'cpuprofile/speedscope-node10-example.cpuprofile'))).profiles[0]!
  const newP = (await loadProfiles(join(CORPUS, 'cpuprofile/speedscope-Chrome65-simple.cpuprofile'))).profiles[0]!
  const stacks = (p: Profile) => Array.from(p.sampleStack, (s) => stackFrames(p, s).map((f) => `${p.frames[f]!.name}:${p.frames[f]!.line}`).join(';'))
  assert.deepEqual(stacks(oldP), stacks(newP))
  assert.deepEqual(Array.from(oldP.times!), Array.from(newP.times!))
  const want = snapshotFrames(readFileSync(join(CORPUS, 'cpuprofile/expected/speedscope-node10-example.cpuprofile.speedscope-snapshot.txt'), 'utf8'))
  assert.deepEqual(new Set(oldP.frames.map((f) => f.name)), new Set(want.map((w) => w.name)))
})

test('corpus: frame kinds, modules and 1-based positions in a real Node 20 profile', { skip: CORPUS_SKIP }, async () => {
  const file = join(CORPUS, 'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile')
  const p = (await loadProfiles(file)).profiles[0]!
  const raw = JSON.parse(readFileSync(file, 'utf8'))
  const by = (n: string) => p.frames.find((f) => f.name === n)
  assert.equal(by('(idle)')!.kind, 'idle')
  assert.equal(by('(garbage collector)')!.kind, 'gc')
  assert.equal(by('(program)')!.kind, 'program')
  assert.equal(by('(root)'), undefined, '(root) is dropped')
  for (let s = 0; s < p.stackFrame.length; s++) if (p.stackParent[s] === -1) assert.notEqual(p.frames[p.stackFrame[s]!]!.name, '(root)')
  const v = by('verifyOneShot')!
  const node = raw.nodes.find((n: { callFrame: { functionName: string } }) => n.callFrame.functionName === 'verifyOneShot')
  assert.equal(v.kind, 'js')
  assert.equal(v.file, node.callFrame.url)
  assert.match(v.module!, /^node:/)
  assert.equal(v.module, node.callFrame.url)
  assert.equal(v.line, node.callFrame.lineNumber + 1)
  assert.equal(v.col, node.callFrame.columnNumber + 1)
  const native = p.frames.find((f) => f.kind === 'native')!
  assert.equal(native.file, undefined)
  assert.ok(p.frames.some((f) => f.name === '(anonymous)'))
})

test('jsModuleOf: npm package for node_modules paths (scoped too), else the URL', () => {
  assert.equal(jsModuleOf('file:///srv/app/node_modules/ws/lib/websocket.js'), 'ws')
  assert.equal(jsModuleOf('/srv/app/node_modules/@libp2p/tcp/dist/index.js'), '@libp2p/tcp')
  assert.equal(jsModuleOf('/a/node_modules/x/node_modules/y/i.js'), 'y')
  assert.equal(jsModuleOf('file:///srv/app/src/peer.js'), 'file:///srv/app/src/peer.js')
})

const tiny = (extra: Record<string, unknown> = {}) => ({
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, hitCount: 0, children: [2, 4] },
    { id: 2, callFrame: { functionName: 'main', scriptId: '1', url: 'file:///app/main.js', lineNumber: 0, columnNumber: 0 }, hitCount: 0, children: [3] },
    { id: 3, callFrame: { functionName: 'connect', scriptId: '1', url: 'file:///app/node_modules/ws/lib/ws.js', lineNumber: 9, columnNumber: 4 }, hitCount: 2 },
    { id: 4, callFrame: { functionName: '(idle)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, hitCount: 1 },
  ],
  startTime: 1000,
  endTime: 1400,
  samples: [3, 3, 4],
  timeDeltas: [100, 100, 100],
  ...extra,
})

test('tiny profile: rows, times, cpu weights (to the next sample; the last one to endTime), modules', async () => {
  const [p] = parseCpuprofileBuffer(Buffer.from(JSON.stringify(tiny())), 'tiny.cpuprofile')
  assert.ok(p)
  assert.deepEqual(Array.from(p.times!), [100_000, 200_000, 300_000])
  assert.deepEqual(Array.from(p.values[1]!), [100_000, 100_000, 100_000])
  const connect = p.frames.find((f) => f.name === 'connect')!
  assert.deepEqual({ ...connect }, { name: 'connect', kind: 'js', file: '/app/node_modules/ws/lib/ws.js', line: 10, col: 5, module: 'ws' })
  assert.deepEqual(stackFrames(p, p.sampleStack[0]!).map((f) => p.frames[f]!.name), ['main', 'connect'])
  assert.deepEqual(stackFrames(p, p.sampleStack[2]!).map((f) => p.frames[f]!.name), ['(idle)'])
  // --sample-type works here too: samples/count instead of the default cpu column
  // --sample-type is applied by the loader, the same way for every format
  assert.equal((await loadFromSource(fromBuffer('t', Buffer.from(JSON.stringify(tiny()))), { sampleType: 'samples' })).profiles[0]!.defaultValue, 0)
  await assert.rejects(loadFromSource(fromBuffer('t', Buffer.from(JSON.stringify(tiny()))), { sampleType: 'alloc_space' }), /available: 0: samples\/count, 1: cpu\/nanoseconds/)
})

test('every accepted shape gives the same profile: plain (fast scanner and JSON.parse), {profile}, pretty-printed, trace', () => {
  const base = tiny()
  const want = parseCpuprofileBuffer(Buffer.from(JSON.stringify(base)), 'a')[0]!
  assert.ok(scanCpuprofile(Buffer.from(JSON.stringify(base)), () => ({ name: 'x', kind: 'js' })), 'the fast path takes the plain shape')
  const same = (p: Profile) => {
    assert.deepEqual(Array.from(p.sampleStack, (s) => stackFrames(p, s).map((f) => p.frames[f]!.name).join(';')), Array.from(want.sampleStack, (s) => stackFrames(want, s).map((f) => want.frames[f]!.name).join(';')))
    assert.deepEqual(Array.from(p.values[1]!), Array.from(want.values[1]!))
  }
  same(parseCpuprofileBuffer(Buffer.from(JSON.stringify({ profile: base })), 'b')[0]!)
  same(parseCpuprofileBuffer(Buffer.from(JSON.stringify(base, null, 2)), 'c')[0]!)
  // escapes in strings and numbers in exponent form
  same(parseCpuprofileBuffer(Buffer.from(JSON.stringify(base).replace('"main"', '"ma\\u0069n"').replace('"startTime":1000', '"startTime":1e3')), 'd')[0]!)
  // DevTools trace: Profile + ProfileChunk events with parent links
  const trace = [
    { name: 'thread_name', ph: 'M', pid: 1, tid: 7, args: { name: 'CrRendererMain' } },
    { name: 'Profile', ph: 'P', pid: 1, tid: 7, id: '0x1', ts: 0, args: { data: { startTime: 1000 } } },
    { name: 'ProfileChunk', ph: 'P', pid: 1, tid: 7, id: '0x1', ts: 1, args: { data: { cpuProfile: { nodes: base.nodes.map(({ children: _c, ...n }) => ({ ...n, ...(n.id > 1 ? { parent: n.id === 3 ? 2 : 1 } : {}) })), samples: [3, 3] }, timeDeltas: [100, 100] } } },
    { name: 'ProfileChunk', ph: 'P', pid: 1, tid: 7, id: '0x1', ts: 2, args: { data: { cpuProfile: { samples: [4] }, timeDeltas: [100], endTime: 1400 } } },
  ]
  const tp = parseCpuprofileBuffer(Buffer.from(JSON.stringify({ traceEvents: trace })), 'trace.json')
  assert.equal(tp.length, 1)
  same(tp[0]!)
  assert.match(tp[0]!.meta.name!, /trace\.json/)
})

test('corpus: DevTools traces with CPU profiles import (--format cpuprofile), one profile per thread', { skip: CORPUS_SKIP }, async () => {
  const worker = await loadProfiles(join(CORPUS, 'chrome-trace/speedscope-Chrome70-worker.json'), { format: 'cpuprofile' })
  assert.equal(worker.profiles.length, 2)
  for (const p of worker.profiles) {
    assert.ok(p.sampleStack.length > 0)
    assert.deepEqual(validateProfile(p), [])
  }
  const single = await loadProfiles(join(CORPUS, 'chrome-trace/speedscope-Chrome65-simple-timeline.json'), { format: 'cpuprofile' })
  assert.equal(single.profiles.length, 1)
  assert.ok(single.profiles[0]!.frames.length > 3)
})

test('bad cpuprofiles: one clear line, exit 4', async () => {
  const good = JSON.stringify(tiny())
  const cases: Record<string, string | Buffer> = {
    truncated: good.slice(0, good.length - 20),
    'unknown-sample-node': JSON.stringify(tiny({ samples: [3, 99, 4] })),
    'unknown-child': JSON.stringify({ ...tiny(), nodes: [{ ...tiny().nodes[0], children: [2, 77] }, ...tiny().nodes.slice(1)] }),
    cycle: JSON.stringify({ ...tiny(), nodes: tiny().nodes.map((n) => (n.id === 3 ? { ...n, children: [2] } : n)) }),
    'delta-count': JSON.stringify(tiny({ timeDeltas: [1] })),
    'deeply-nested': '{"nodes":[{"id":1,"callFrame":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}],"samples":[]}',
    'nested-garbage': '{"nodes":' + '['.repeat(100_000),
  }
  for (const [name, body] of Object.entries(cases)) {
    const f = join(dir, `${name}.cpuprofile`)
    writeFileSync(f, body)
    const r = await runCli(['top', f, '--format', 'cpuprofile'])
    assert.equal(r.code, 4, `${name}: ${r.stderr}`)
    assert.ok(isCleanFailure(r), `${name}: ${r.stderr}`)
    assert.match(r.stderr, /malformed cpuprofile input/, name)
  }
})

test('a 50,000-deep node chain: imports, ranks and converts without recursion', async () => {
  const depth = 50_000
  const nodes = [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] }]
  for (let i = 2; i <= depth + 1; i++) nodes.push({ id: i, callFrame: { functionName: `f${i}`, url: 'file:///deep.js', lineNumber: i, columnNumber: 0 }, children: i <= depth ? [i + 1] : [] })
  const f = join(dir, 'deep.cpuprofile')
  writeFileSync(f, JSON.stringify({ nodes, startTime: 0, endTime: 3000, samples: [depth + 1, depth + 1, 2], timeDeltas: [1000, 1000, 1000] }))
  const r = await runCli(['top', f, '--json', '--limit', '2'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.equal(j.rows[0].name, `f${depth + 1}`)
  for (const to of ['pprof', 'speedscope']) {
    const out = join(dir, `deep.${to}`)
    const c = await runCli(['convert', f, '--to', to, '-o', out])
    assert.equal(c.code, 0, c.stderr)
    const back = (await loadProfiles(out)).profiles[0]!
    const deepest = Math.max(...Array.from(back.sampleStack, (s) => stackFrames(back, s).length))
    assert.equal(deepest, depth)
  }
})

test('invalid UTF-8 in a function name: imported with U+FFFD and a --verbose warning', async () => {
  const body = Buffer.from(JSON.stringify(tiny()).replace('"connect"', '"connQQQ"'))
  const at = body.indexOf(Buffer.from('QQQ'))
  body[at] = 0x63 // 'c'
  body[at + 1] = 0xff
  body[at + 2] = 0xfe
  const f = join(dir, 'badutf8.cpuprofile')
  writeFileSync(f, body)
  const r = await runCli(['top', f, '--json', '--verbose'])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(JSON.parse(r.stdout).rows.some((x: { name: string }) => x.name === 'connc\ufffd\ufffd'), r.stdout)
  assert.match(r.stderr, /invalid UTF-8/)
})
