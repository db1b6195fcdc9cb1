// `meshprof analyze` through the real CLI: exit codes (--fail-on), the JSON schema, errors.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-analyze-'))
const storm = join(dir, 'rust-storm.folded')
writeFileSync(storm, [
  'tracing; mesh_node::gossip::run_gossip:src/gossip.rs:88; iroh::endpoint::connect:/src/endpoint.rs:512 61800000',
  'tracing; mesh_node::net::run_frame_reader:src/net.rs:40; mesh_node::net::decode_frame:src/net.rs:77 13200000',
  'tracing 25000000',
].join('\n') + '\n')
const lowOnly = join(dir, 'low.folded')
writeFileSync(lowOnly, 'main;(garbage collector) 12\nmain;work 88\n')
const clean = join(dir, 'clean.folded')
writeFileSync(clean, 'main;work 10\n(idle) 90\n')

const SEVERITIES = ['high', 'medium', 'low', 'info']

/** The documented schema (docs/analyze.md), checked field by field. */
function checkSchema(j: any): void {
  assert.equal(j.meshprof, 'analyze')
  assert.equal(j.schemaVersion, 1)
  assert.ok(Array.isArray(j.profiles) && j.profiles.length > 0)
  for (const p of j.profiles) {
    assert.equal(typeof p.index, 'number')
    assert.equal(typeof p.input, 'string')
    assert.equal(typeof p.samples, 'number')
    assert.equal(typeof p.totalWeight, 'number')
    assert.equal(typeof p.valueType, 'string')
    assert.equal(typeof p.unit, 'string')
    assert.equal(typeof p.basis, 'string')
    assert.equal(typeof p.networkEvidence, 'boolean')
    assert.ok(Array.isArray(p.skipped))
    for (const s of p.skipped) { assert.equal(typeof s.ruleId, 'string'); assert.equal(typeof s.reason, 'string') }
  }
  assert.ok(Array.isArray(j.findings))
  for (const f of j.findings) {
    assert.equal(typeof f.ruleId, 'string')
    assert.ok(SEVERITIES.includes(f.severity))
    assert.equal(typeof f.title, 'string')
    assert.ok(typeof f.share === 'number' && f.share >= 0 && f.share <= 1)
    if (f.cpuCores !== undefined) assert.equal(typeof f.cpuCores, 'number')
    assert.equal(typeof f.message, 'string')
    assert.ok(!f.message.includes('\n'))
    assert.equal(typeof f.remedy, 'string')
    assert.ok(Array.isArray(f.frames) && f.frames.every((x: unknown) => typeof x === 'string'))
    assert.ok(Array.isArray(f.evidence.stacks))
    for (const s of f.evidence.stacks) {
      assert.ok(s.frames.every((x: unknown) => typeof x === 'string'))
      assert.equal(typeof s.weight, 'number')
      assert.equal(typeof s.share, 'number')
    }
    for (const v of Object.values(f.evidence.numbers)) assert.ok(typeof v === 'number' || typeof v === 'string')
    assert.ok(f.evidence.notes.every((x: unknown) => typeof x === 'string'))
    assert.ok(f.profile === null || typeof f.profile === 'number')
  }
  for (const s of SEVERITIES) assert.equal(typeof j.summary[s], 'number')
  assert.equal(j.summary.total, j.findings.length)
  assert.ok(j.rules.some((r: any) => r.id === 'connect-storm' && r.source === 'builtin' && r.thresholds.minShare === 0.03))
  assert.ok('failOn' in j)
}

test('analyze --json: stable schema, the tracing-flame connect storm as a high finding', async () => {
  const r = await runCli(['analyze', storm, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  checkSchema(j)
  assert.equal(j.findings[0].ruleId, 'connect-storm')
  assert.equal(j.findings[0].severity, 'high')
  assert.equal(j.findings[0].profile, 0)
  assert.equal(j.summary.high, 1)
  assert.equal(j.failOn, null)
  assert.deepEqual(j.profiles[0].skipped.map((s: any) => s.ruleId).sort(), ['busy-wait', 'ghost-connections', 'growth', 'telemetry-growth'])
})

test('analyze text output: severity, rule, share, evidence lines, fix', async () => {
  const r = await runCli(['analyze', storm])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^HIGH\s+connect-storm\s+61\.8% of CPU in connect\/handshake \(iroh::endpoint::connect\)$/m)
  assert.match(r.stdout, /called from a periodic caller: mesh_node::gossip::run_gossip/)
  assert.match(r.stdout, /no network evidence was available/)
  assert.match(r.stdout, /^\s+fix: remember which peers are joined/m)
  assert.match(r.stdout, /^not checked: busy-wait/m)
  assert.match(r.stdout, /1 finding \(1 high\)/)
})

test('--fail-on: exit 1 when a finding of at least that severity exists, else 0', async () => {
  const hi = await runCli(['analyze', storm, '--fail-on', 'high'])
  assert.equal(hi.code, 1)
  assert.equal(hi.stderr, '')
  assert.match(hi.stdout, /HIGH\s+connect-storm/)
  const low = await runCli(['analyze', lowOnly, '--fail-on', 'medium'])
  assert.equal(low.code, 0, low.stderr)
  assert.match(low.stdout, /LOW\s+gc-pressure\s+garbage collection takes 12\.0% of CPU/)
  const low2 = await runCli(['analyze', lowOnly, '--fail-on', 'low', '--json'])
  assert.equal(low2.code, 1)
  assert.equal(JSON.parse(low2.stdout).failOn, 'low')
  const none = await runCli(['analyze', clean, '--fail-on', 'info'])
  assert.equal(none.code, 0, none.stderr)
  assert.match(none.stdout, /no findings at or above low \(6 rules on 1 profile\)/)
  const both = await runCli(['analyze', clean, storm, '--fail-on', 'high', '--json'])
  assert.equal(both.code, 1)
  const j = JSON.parse(both.stdout)
  checkSchema(j)
  assert.equal(j.profiles.length, 2)
  assert.equal(j.findings[0].profile, 1)
})

test('--level hides lower findings in text; --threshold overrides; bad thresholds are usage errors', async () => {
  const r = await runCli(['analyze', lowOnly, '--level', 'medium'])
  assert.equal(r.code, 0)
  assert.match(r.stdout, /no findings at or above medium .*1 below medium hidden/s)
  const t = await runCli(['analyze', storm, '--threshold', 'connect-storm.minShare=0.7', '--json'])
  assert.equal(t.code, 0, t.stderr)
  assert.equal(JSON.parse(t.stdout).findings.length, 0)
  assert.equal(JSON.parse(t.stdout).rules.find((x: any) => x.id === 'connect-storm').thresholds.minShare, 0.7)
  const pct = await runCli(['analyze', storm, '--threshold', 'connect-storm.highShare=70%', '--json'])
  assert.equal(JSON.parse(pct.stdout).findings[0].severity, 'medium')
  for (const bad of ['connect-storm.nope=1', 'nosuch.minShare=1', 'connect-storm.minShare=abc', 'connect-storm.minShare=7']) {
    const b = await runCli(['analyze', storm, '--threshold', bad])
    assert.equal(b.code, 2, `${bad}: ${b.stderr}`)
    assert.ok(isCleanFailure(b), b.stderr)
  }
})

test('--rules: user rules run; a broken rules file is a one-line usage error naming rule and field', async () => {
  const good = join(dir, 'good.yaml')
  writeFileSync(good, '- id: frame-reader\n  frame: decode_frame\n  ancestor: run_frame_reader\n  threshold: 0.1\n  severity: medium\n  message: frame decoding {share}\n  remedy: decode less\n')
  const r = await runCli(['analyze', storm, '--rules', good, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const f = JSON.parse(r.stdout).findings.find((x: any) => x.ruleId === 'frame-reader')
  assert.equal(f.message, 'frame decoding 13.2%')
  assert.equal(f.severity, 'medium')
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, JSON.stringify([{ id: 'x', frame: 'a', threshold: 0.1, severity: 'low', message: 'm' }, { id: 'y', frame: '(', threshold: 0.1, severity: 'low', message: 'm' }]))
  const b = await runCli(['analyze', storm, '--rules', bad])
  assert.equal(b.code, 2)
  assert.ok(isCleanFailure(b), b.stderr)
  assert.match(b.stderr, /rule 2 \(id "y"\): field "frame": invalid regular expression/)
  const missing = await runCli(['analyze', storm, '--rules', join(dir, 'nope.json')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /rules file .*nope\.json: no such file/)
})

test('input errors: missing file (3), directory without captures (4), no input (2)', async () => {
  const m = await runCli(['analyze', join(dir, 'missing.folded')])
  assert.equal(m.code, 3, m.stderr)
  assert.ok(isCleanFailure(m), m.stderr)
  const empty = join(dir, 'empty-dir')
  mkdirSync(empty, { recursive: true })
  const d = await runCli(['analyze', empty])
  assert.equal(d.code, 4, d.stderr)
  assert.match(d.stderr, /holds no capture/)
  const n = await runCli(['analyze'])
  assert.equal(n.code, 2)
  assert.ok(isCleanFailure(n), n.stderr)
})

test('--list-rules lists every rule with its thresholds', async () => {
  const r = await runCli(['analyze', '--list-rules'])
  assert.equal(r.code, 0, r.stderr)
  for (const id of ['connect-storm', 'busy-wait', 'ghost-connections', 'telemetry-growth', 'gc-pressure']) assert.match(r.stdout, new RegExp(`^${id} `, 'm'))
  assert.match(r.stdout, /--threshold connect-storm\.minShare=0\.03/)
})

test('hostile frame names cannot reach the terminal raw', async () => {
  const evil = join(dir, 'evil.folded')
  writeFileSync(evil, 'main;loop;\x1b[2J\x1b]0:pwned\x07connect 90\nmain 10\n')
  const r = await runCli(['analyze', evil])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(!r.stdout.includes('\x1b'), 'no raw ESC')
  assert.match(r.stdout, /\\x1b\[2J\\x1b\]0:pwned\\x07connect/)
})
