// The model-level diff on small hand-made profiles: exact numbers, matching rules, ranking,
// cores, regression thresholds, difffolded semantics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFoldedStream } from '../../src/formats/folded.js'
import { ProfileBuilder } from '../../src/model/builder.js'
import type { Profile } from '../../src/model/types.js'
import { diff, type DiffInput } from '../../src/diff/index.js'
import { findRegressions } from '../../src/diff/regression.js'
import { stackDiff, toDiffFolded } from '../../src/diff/stacks.js'
import { diffFindings } from '../../src/diff/findings.js'
import { renderDiff } from '../../src/render/diff.js'

async function folded(text: string): Promise<Profile> {
  return parseFoldedStream([Buffer.from(text)], 'test')
}

function side(label: string, ...profiles: Profile[]): DiffInput {
  return { label, nodes: profiles.map((p, i) => ({ name: p.meta.name ?? `n${i}`, file: label, format: 'folded', profile: p })) }
}

const STORM = 'main;runGossip;joinPeers;connectPeer;tls.connect 60\nmain;runGossip;emit 10\nmain;(idle) 30\n'
const HEALTHY = 'main;runGossip;emit 10\nmain;(idle) 90\n'

test('a profile against itself: every delta exactly 0, nothing appeared or gone', async () => {
  const p = await folded(STORM)
  const d = diff(side('a', p), side('b', p))
  assert.equal(d.appeared, 0)
  assert.equal(d.gone, 0)
  assert.ok(d.rows.length > 0)
  for (const r of d.rows) {
    assert.equal(r.delta.totalShare, 0, r.name)
    assert.equal(r.delta.selfShare, 0, r.name)
    assert.equal(r.status, 'same')
  }
  assert.equal(d.cpu.change, 0)
  assert.deepEqual(findRegressions(d, 0), [])
})

test('shares of each side, gone frames, ranking by |Δ total| with deterministic tie-breaks', async () => {
  const d = diff(side('storm', await folded(STORM)), side('healthy', await folded(HEALTHY)))
  assert.equal(d.basis, 'shares')
  assert.match(d.basisReason, /no duration/)
  const byName = new Map(d.rows.map((r) => [r.name, r]))
  const cp = byName.get('connectPeer')!
  assert.equal(cp.status, 'gone')
  assert.equal(cp.before.totalShare, 0.6)
  assert.equal(cp.after.totalShare, 0)
  assert.equal(cp.delta.totalShare, -0.6)
  assert.ok(cp.connect)
  assert.equal(byName.get('runGossip')!.before.totalShare, 0.7)
  assert.equal(byName.get('runGossip')!.after.totalShare, 0.1)
  assert.equal(byName.get('runGossip')!.status, 'shrank')
  assert.equal(byName.get('(idle)')!.status, 'grew')
  assert.equal(d.gone, 3) // joinPeers, connectPeer, tls.connect
  // |Δ| 0.6 for runGossip, idle, joinPeers, connectPeer, tls.connect; then by |Δ self|, presence, key.
  assert.deepEqual(d.rows.slice(0, 5).map((r) => r.name), ['(idle)', 'tls.connect', 'runGossip', 'connectPeer', 'joinPeers'])
  // busy share: idle is a leaf of kind idle
  assert.equal(d.cpu.unit, 'busy-share')
  assert.equal(d.cpu.before, 0.7)
  assert.equal(d.cpu.after, 0.1)
  const text = renderDiff(d)
  assert.match(text, /CPU \(busy share of samples\): 70\.0% -> 10\.0% \(-60\.0 pp\)/)
  assert.match(text, /^shares: % of each side's samples, idle included \(top's % are of on-CPU samples\)$/m)
  assert.match(text, /tls\.connect\s+\(total\)\s+60\.0% -> 0\.0%\s+-60\.0 pp\s+gone/)
})

test('recursion counts once per stack in total', async () => {
  const d = diff(side('a', await folded('f;f;f;g 10\n')), side('b', await folded('f;g 10\n')))
  const f = d.rows.find((r) => r.name === 'f')!
  assert.equal(f.before.total, 10)
  assert.equal(f.after.total, 10)
  assert.equal(f.delta.totalShare, 0)
})

function jsProfile(frames: { name: string; file?: string; line?: number }[][], weights: number[], meta: Profile['meta'] = {}): Profile {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }], { ...meta })
  b.defaultValue = 1
  frames.forEach((stack, i) => {
    const ids = stack.map((f) => b.internFrame({ ...f, kind: f.name === '(idle)' ? 'idle' : 'js' }))
    b.addSample(b.stackFromFrames(ids), [weights[i]! / 1e6, weights[i]!])
  })
  return b.build()
}

test('file/line: matched by default, ignored with --strip-lines, auto-stripped when one side has none', async () => {
  const before = jsProfile([[{ name: 'main', file: 'a.js', line: 1 }, { name: 'work', file: 'a.js', line: 10 }]], [5e6])
  const moved = jsProfile([[{ name: 'main', file: 'a.js', line: 1 }, { name: 'work', file: 'a.js', line: 12 }]], [5e6])
  const strict = diff(side('b', before), side('a', moved))
  assert.equal(strict.stripLines, false)
  assert.deepEqual(strict.rows.filter((r) => r.name === 'work').map((r) => r.status).sort(), ['appeared', 'gone'])
  const loose = diff(side('b', before), side('a', moved), { stripLines: true })
  assert.equal(loose.rows.find((r) => r.name === 'work')!.status, 'same')
  const auto = diff(side('b', before), side('f', await folded('main;work 5\n')))
  assert.equal(auto.stripLines, true)
  assert.match(auto.stripLinesReason!, /f carries no file\/line/)
  assert.ok(auto.rows.every((r) => r.status === 'same'))
})

test('cores: from meta.cpuTimeNs + durationNs, idle adds no cores, relative change, per-node breakdown', () => {
  const mk = (work: number, idle: number, cpuTimeNs: number, name: string) =>
    jsProfile([[{ name: 'main', file: 'm.js', line: 1 }, { name: 'connectPeer', file: 'm.js', line: 5 }], [{ name: '(idle)' }]], [work, idle], { durationNs: 1e9, cpuTimeNs, name })
  const b = mk(350e6, 650e6, 350e6, 'node-1')
  const a = mk(60e6, 940e6, 60e6, 'node-1')
  const d = diff(side('before', b), side('after', a))
  assert.equal(d.basis, 'cores')
  assert.ok(Math.abs(d.cpu.before - 0.35) < 1e-12)
  assert.ok(Math.abs(d.cpu.after - 0.06) < 1e-12)
  assert.ok(Math.abs(d.cpu.change - (0.06 / 0.35 - 1)) < 1e-12)
  const cp = d.rows.find((r) => r.name === 'connectPeer')!
  assert.ok(Math.abs(cp.before.totalCores! - 0.35) < 1e-12)
  assert.ok(Math.abs(cp.delta.totalCores! + 0.29) < 1e-12)
  const idle = d.rows.find((r) => r.name === '(idle)')!
  assert.equal(idle.before.totalCores, 0)
  assert.equal(idle.after.totalCores, 0)
  // cores print as analyze and top print them (3 decimals under 0.1 cores)
  assert.match(renderDiff(d), /CPU: 0\.35 -> 0\.060 cores \(-83%\)/)
  // two nodes per side: cores add up, nodes pair by name
  const d2 = diff(side('before', b, mk(100e6, 900e6, 100e6, 'node-2')), side('after', a, mk(100e6, 900e6, 100e6, 'node-2')))
  assert.ok(Math.abs(d2.cpu.before - 0.45) < 1e-12)
  assert.deepEqual(d2.nodes!.map((n) => n.name), ['node-1', 'node-2'])
  assert.ok(Math.abs(d2.nodes![1]!.before!.cores! - 0.1) < 1e-12)
  // a side without duration: shares, and --basis cores is refused
  const nodur = jsProfile([[{ name: 'main', file: 'm.js', line: 1 }]], [1e6])
  assert.equal(diff(side('before', b), side('x', nodur)).basis, 'shares')
  assert.throws(() => diff(side('before', b), side('x', nodur), { basis: 'cores' }), /--basis cores: x has no duration/)
})

test('--fail-on-regression: strict thresholds in % (cores) and pp (shares)', async () => {
  const h = await folded(HEALTHY)
  const s = await folded(STORM)
  // healthy -> storm: busy share +60 pp, connectPeer +60 pp
  const d = diff(side('h', h), side('s', s))
  const r = findRegressions(d, 10)
  assert.equal(r[0]!.kind, 'cpu')
  assert.ok(r.some((x) => x.kind === 'frame' && x.name === 'connectPeer'))
  assert.ok(!r.some((x) => x.name === '(idle)'), 'idle shrinking/growing is never a regression')
  assert.deepEqual(findRegressions(d, 60), [], 'exactly +60 pp is not more than 60')
  // storm -> healthy: only idle grew
  assert.deepEqual(findRegressions(diff(side('s', s), side('h', h)), 0), [])
})

test('focus narrows rows but shares stay of the whole profile', async () => {
  const d = diff(side('s', await folded(STORM)), side('h', await folded(HEALTHY)), { focus: /connect/ })
  assert.deepEqual(d.rows.map((r) => r.name).sort(), ['connectPeer', 'joinPeers', 'main', 'runGossip', 'tls.connect'])
  assert.equal(d.rows.find((r) => r.name === 'main')!.before.totalShare, 0.6)
})

test('--by file / module and --strip-hex', async () => {
  const a = jsProfile([[{ name: 'x', file: 'a.js', line: 1 }, { name: 'y', file: 'b.js', line: 2 }]], [4e6])
  const b = jsProfile([[{ name: 'x', file: 'a.js', line: 1 }, { name: 'z', file: 'c.js', line: 2 }]], [4e6])
  const d = diff(side('a', a), side('b', b), { by: 'file' })
  assert.deepEqual(d.rows.map((r) => `${r.name}:${r.status}`).sort(), ['a.js:same', 'b.js:gone', 'c.js:appeared'])
  const h = diff(side('a', await folded('main;0xdeadbeef 3\n')), side('b', await folded('main;0x1234 3\n')), { stripHex: true })
  assert.ok(h.rows.every((r) => r.status === 'same'))
  assert.ok(h.rows.some((r) => r.name === '0x...'))
})

test('stackDiff follows difffolded.pl: union of stacks, -n truncates, -s merges addresses', async () => {
  const b = await folded('a;b 3\na;0x10 1\na;0x20 1\n')
  const a = await folded('a;b 7\na;c 1\n')
  assert.equal(toDiffFolded(stackDiff(b, a)), 'a;0x10 1 0\na;0x20 1 0\na;b 3 7\na;c 0 1\n')
  assert.equal(toDiffFolded(stackDiff(b, a, { stripHex: true })), 'a;0x... 2 0\na;b 3 7\na;c 0 1\n')
  // 3 * 8 / 5 = 4.8 -> 4, 1 * 8 / 5 = 1.6 -> 1
  assert.equal(toDiffFolded(stackDiff(b, a, { normalize: true })), 'a;0x10 1 0\na;0x20 1 0\na;b 4 7\na;c 0 1\n')
})

test('findings: resolved / new / unchanged by ruleId, highest severity kept', async () => {
  const s = side('s', await folded(STORM))
  const h = side('h', await folded(HEALTHY))
  const analyze = (p: Profile) => {
    const names = new Set(p.frames.map((f) => f.name))
    const out = [{ ruleId: 'telemetry', severity: 'low', title: 'telemetry' }]
    if (names.has('connectPeer')) out.push({ ruleId: 'connect-storm', severity: 'high', title: 'connect storm' })
    if (!names.has('connectPeer')) out.push({ ruleId: 'mostly-idle', severity: 'info', title: 'idle' })
    return out
  }
  const f = await diffFindings(s, h, analyze)
  assert.deepEqual(f.resolved.map((x) => x.ruleId), ['connect-storm'])
  assert.deepEqual(f.new.map((x) => x.ruleId), ['mostly-idle'])
  assert.deepEqual(f.unchanged.map((x) => x.ruleId), ['telemetry'])
  assert.equal((await diffFindings(s, h, null)).available, false)
  const d = diff(s, h)
  d.findings = f
  assert.match(renderDiff(d), /resolved: connect-storm \(HIGH\)\s+new: mostly-idle \(INFO\)\s+unchanged: telemetry \(LOW\)/)
  // a rule that drops to an info note is resolved, one that rises from info is new
  const noteAfter = (p: Profile) => [{ ruleId: 'connect-storm', severity: new Set(p.frames.map((x) => x.name)).has('connectPeer') ? 'high' : 'info', title: 'connect storm' }]
  const g = await diffFindings(s, h, noteAfter)
  assert.deepEqual([g.resolved.map((x) => `${x.ruleId} ${x.severity}`), g.new.map((x) => x.ruleId), g.unchanged.map((x) => x.ruleId)], [['connect-storm high'], [], []])
  const r = await diffFindings(h, s, noteAfter)
  assert.deepEqual([r.resolved.map((x) => x.ruleId), r.new.map((x) => `${x.ruleId} ${x.severity}`), r.unchanged.map((x) => x.ruleId)], [[], ['connect-storm high'], []])
})

test('hostile names are terminal-safe in the rendered table', async () => {
  const d = diff(side('a', await folded('main;\x1b[2Jevil 5\n')), side('b', await folded('main;ok 5\n')))
  const text = renderDiff(d)
  assert.ok(!text.includes('\x1b'))
  assert.match(text, /\\x1b\[2Jevil/)
})
