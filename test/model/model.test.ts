import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProfileBuilder, stackFrames, validateProfile } from '../../src/model/builder.js'
import { filterProfile, mergeProfiles, selfTotalBy, stackTotals, totalWeight } from '../../src/model/ops.js'
import { parseFoldedStream, toFolded } from '../../src/formats/folded.js'
import type { Profile } from '../../src/model/types.js'

async function folded(text: string): Promise<Profile> {
  return parseFoldedStream([Buffer.from(text)], 'test')
}

test('builder interns frames and stacks; equal stacks aggregate', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }])
  const a = b.internName('a'), c = b.internName('c')
  assert.equal(b.internName('a'), a)
  const s1 = b.stackFromFrames([a, c])
  assert.equal(b.stackFromFrames([a, c]), s1)
  b.addSample(s1, 2)
  b.addSample(s1, 3)
  const p = b.build()
  assert.deepEqual(validateProfile(p), [])
  assert.equal(p.sampleStack.length, 1)
  assert.equal(p.values[0]![0], 5)
  assert.deepEqual(stackFrames(p, s1).map((f) => p.frames[f]!.name), ['a', 'c'])
})

test('timestamped rows are kept per sample', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }])
  const s = b.stackFromFrames([b.internName('x')])
  b.addSample(s, 1, 10)
  b.addSample(s, 1, 20)
  const p = b.build()
  assert.equal(p.sampleStack.length, 2)
  assert.deepEqual([...p.times!], [10, 20])
})

test('recursion counts a frame once per stack in total, self stays at the leaf', async () => {
  const p = await folded('main;f;g;f;f 10\nmain;g 5\n')
  const rows = Object.fromEntries(selfTotalBy(p, 'function').map((r) => [r.key, r]))
  assert.equal(rows.f!.total, 10)
  assert.equal(rows.f!.self, 10)
  assert.equal(rows.g!.total, 15)
  assert.equal(rows.g!.self, 5)
  assert.equal(rows.main!.total, 15)
  assert.equal(totalWeight(p), 15)
})

test('stackTotals pushes leaf weights to ancestors', async () => {
  const p = await folded('a;b 3\na;c 4\na 1\n')
  const t = stackTotals(p)
  const root = [...p.stackParent].indexOf(-1)
  assert.equal(t[root], 8)
})

test('focus keeps samples with a match anywhere; ignore drops them; hide removes frames only', async () => {
  const p = await folded('a;connect;tls 6\na;b 3\nc 1\n')
  assert.equal(totalWeight(filterProfile(p, { focus: /connect/ })), 6)
  assert.equal(totalWeight(filterProfile(p, { ignore: /connect/ })), 4)
  const h = filterProfile(p, { hide: /^connect$/ })
  assert.equal(totalWeight(h), 10)
  assert.equal(toFolded(h), 'a;b 3\na;tls 6\nc 1\n')
})

test('merge unifies frames and sums; labels keep inputs apart', async () => {
  const p1 = await folded('a;b 1\n')
  const p2 = await folded('a;b 2\na;c 1\n')
  const m = mergeProfiles([p1, p2])
  assert.equal(toFolded(m), 'a;b 3\na;c 1\n')
  const l = mergeProfiles([p1, p2], { label: (_p, i) => ({ node: i }) })
  assert.equal(l.labels!.length, 3)
  assert.equal(totalWeight(l), 4)
})

test('50,000-frame-deep stack: no recursion overflow in build, aggregate, filter, fold', async () => {
  const deep = Array.from({ length: 50000 }, (_, i) => `f${i % 7}`).join(';') + ' 3\n'
  const p = await folded(deep)
  assert.deepEqual(validateProfile(p), [])
  assert.equal(selfTotalBy(p, 'function').length, 7)
  assert.equal(totalWeight(filterProfile(p, { focus: /f6/ })), 3)
  assert.equal(toFolded(p), deep)
})

test('folded parser: CRLF, comments, two-count diff lines, fractional weights', async () => {
  const p = await folded('# comment\r\na;b 1.5\r\na;c 2\r\n')
  assert.equal(totalWeight(p), 3.5)
  const d = await folded('a;b 1 4\na;c 2 0\n')
  assert.deepEqual(d.valueTypes.map((v) => v.type), ['before', 'after'])
  assert.equal(totalWeight(d, 0), 3)
  assert.equal(totalWeight(d, 1), 4)
})

test('unprofiledCpu: said when threads the profile does not sample burn more than 10% of the process CPU', async () => {
  const { unprofiledCpu } = await import('../../src/model/threads.js')
  const s = 1e9
  const threads = [
    { tid: 10, name: 'node', cpuNs: 0.11 * s, profiled: true },
    { tid: 11, name: 'libuv-worker', cpuNs: 0.5 * s, profiled: false },
    { tid: 12, name: 'libuv-worker', cpuNs: 0.47 * s, profiled: false },
    { tid: 13, name: 'V8 DefaultWorke', cpuNs: 0, profiled: false },
  ]
  const u = unprofiledCpu(threads, s)!
  assert.equal(u.sentence, "0.97 of 1.08 cores ran in threads that were not profiled (2 threads: 2x 'libuv-worker' 0.97)")
  assert.deepEqual(u.threads.map((t) => t.tid), [11, 12])
  // 9% unexplained: not worth a sentence; nor CPU nobody measured
  assert.equal(unprofiledCpu([{ tid: 10, name: 'node', cpuNs: 0.91 * s, profiled: true }, { tid: 11, name: 'node', cpuNs: 0.09 * s, profiled: false }], s), undefined)
  assert.equal(unprofiledCpu(undefined, s), undefined)
})

test('top --by function: one name from two files is one row that names neither file (it would name the wrong one)', async () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }])
  const main = b.internFrame({ name: 'main', file: '/app/main.js', line: 1, kind: 'js' })
  const d1 = b.internFrame({ name: 'decode', file: '/app/pprof.js', line: 10, kind: 'js' })
  const d2 = b.internFrame({ name: 'decode', file: 'node:internal/encoding', line: 400, kind: 'js' })
  const only = b.internFrame({ name: 'parse', file: '/app/parse.js', line: 5, kind: 'js' })
  b.addSample(b.stackFromFrames([main, d1]), 3)
  b.addSample(b.stackFromFrames([main, d2]), 2)
  b.addSample(b.stackFromFrames([main, only]), 1)
  const p = b.build()
  const rows = Object.fromEntries(selfTotalBy(p, 'function').map((r) => [r.key, r]))
  assert.equal(rows.decode!.self, 5)
  assert.equal(rows.decode!.places, 2)
  assert.equal(rows.parse!.places, undefined)
  const { rank } = await import('../../src/analyze/rank.js')
  const { renderTop } = await import('../../src/render/top.js')
  const r = rank(p, {})
  const dec = r.rows.find((x) => x.name === 'decode')!
  assert.equal(dec.file, undefined)
  assert.equal(dec.places, 2)
  assert.equal(r.rows.find((x) => x.name === 'parse')!.file, '/app/parse.js')
  const text = renderTop(r, {})
  assert.match(text, /decode \(2 places\)\n/)
  assert.match(text, /parse \/app\/parse\.js:5\n/)
  assert.doesNotMatch(text, /pprof\.js|encoding/)
})

test('formatCores: 2 decimals from 0.1 cores up, 3 below, decided on the rounded figure', async () => {
  const { formatCores } = await import('../../src/model/cpu-basis.js')
  assert.equal(formatCores(0.25), '0.25')
  assert.equal(formatCores(0.1), '0.10')
  assert.equal(formatCores(0.0996), '0.10') // rounds to 0.100 at 3 decimals: shown as 0.10
  assert.equal(formatCores(0.0994), '0.099')
  assert.equal(formatCores(0.026), '0.026')
  assert.equal(formatCores(Number.NaN), '-')
})
