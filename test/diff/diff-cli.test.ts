// `meshprof diff` end to end on real files: .cpuprofile files recorded here with `node --cpu-prof`,
// their conversions to other formats by `meshprof convert`, and the corpus' difffolded pair.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure, CORPUS, CORPUS_SKIP } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-diff-'))
const STORM = join(dir, 'storm.cpuprofile')
const HEALTHY = join(dir, 'healthy.cpuprofile')

// A gossip loop on a 5 ms timer; in storm mode every tick also "connects" to 4 peers (hashing stands
// in for the TLS handshake, so the CPU cost is real and deterministic in shape).
const WORKLOAD = `
const crypto = require('crypto')
const mode = process.argv[2]
function hashPayload(n) { let h = Buffer.alloc(32); for (let i = 0; i < n; i++) h = crypto.createHash('sha256').update(h).digest(); return h }
function connectPeer() { return hashPayload(2000) }
function joinPeers() { for (let i = 0; i < 4; i++) connectPeer() }
function gossipTick() { return hashPayload(200) }
function runGossip() { if (mode === 'storm') joinPeers(); gossipTick() }
const end = Date.now() + 700
const iv = setInterval(() => { runGossip(); if (Date.now() > end) clearInterval(iv) }, 10)
`

function record(mode: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = join(dir, 'workload.cjs')
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${out}`, script, mode], { stdio: 'ignore' })
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`workload ${mode} hung`)) }, 30000)
    child.on('error', reject)
    child.on('exit', (code) => { clearTimeout(t); code === 0 ? resolve() : reject(new Error(`workload ${mode} exited ${code}`)) })
  })
}

after(() => rmSync(dir, { recursive: true, force: true }))

before(async () => {
  writeFileSync(join(dir, 'workload.cjs'), WORKLOAD)
  await Promise.all([record('storm', 'storm.cpuprofile'), record('healthy', 'healthy.cpuprofile')])
})

interface JRow {
  name: string
  status: string
  delta: { selfShare: number; totalShare: number; selfCores: number | null; totalCores: number | null }
  before: { self: number; total: number; totalShare: number; totalCores: number | null }
  after: { self: number; total: number; totalShare: number; totalCores: number | null }
}

async function diffJson(args: string[]) {
  const r = await runCli(['diff', ...args, '--json', '--limit', '0'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

function assertNoChange(j: { rows: JRow[]; appeared: number; gone: number }, what: string, cores = true) {
  assert.ok(j.rows.length > 10, `${what}: rows`)
  assert.equal(j.appeared, 0, `${what}: appeared`)
  assert.equal(j.gone, 0, `${what}: gone`)
  for (const r of j.rows) {
    assert.equal(r.delta.totalShare, 0, `${what}: ${r.name} total share`)
    assert.equal(r.delta.selfShare, 0, `${what}: ${r.name} self share`)
    if (cores) {
      assert.equal(r.delta.totalCores, 0, `${what}: ${r.name} total cores`)
      assert.equal(r.delta.selfCores, 0, `${what}: ${r.name} self cores`)
    }
    assert.equal(r.status, 'same', `${what}: ${r.name}`)
  }
}

test('a real .cpuprofile against itself: all deltas exactly 0, exit 0 with --fail-on-regression 0.1', async () => {
  const j = await diffJson([STORM, STORM])
  assert.equal(j.schemaVersion, 1)
  assert.equal(j.basis, 'cores', j.basisReason)
  assert.equal(j.stripLines, false)
  assertNoChange(j, 'self')
  assert.equal(j.cpu.change, 0)
  const r = await runCli(['diff', STORM, STORM, '--fail-on-regression', '0.1'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  assert.match(r.stdout, /no function changed/)
  assert.match(r.stdout, /appeared: 0, gone: 0/)
})

test('the same profile in two formats: cpuprofile vs its folded conversion shows no change', async () => {
  const f = join(dir, 'storm.folded')
  const c = await runCli(['convert', STORM, '--to', 'folded', '-o', f])
  assert.equal(c.code, 0, c.stderr)
  const j = await diffJson([STORM, f])
  assert.equal(j.stripLines, true, 'folded has no file/line: matched by name')
  assert.match(j.stripLinesReason, /storm\.folded carries no file\/line/)
  assert.equal(j.basis, 'shares')
  assertNoChange(j, 'folded', false)
  const r = await runCli(['diff', f, STORM, '--fail-on-regression', '0.1'])
  assert.equal(r.code, 0, r.stderr)
})

test('the same profile in two formats: cpuprofile vs its pprof conversion shows no change, in cores too', async (t) => {
  const p = join(dir, 'storm.pb.gz')
  const c = await runCli(['convert', STORM, '--to', 'pprof', '-o', p])
  if (c.code !== 0) return t.skip(`convert --to pprof failed: ${c.stderr.trim()}`)
  const j = await diffJson([STORM, p])
  assert.equal(j.stripLines, false, 'pprof keeps file and line')
  assert.equal(j.basis, 'cores', j.basisReason)
  assertNoChange(j, 'pprof')
  const r = await runCli(['diff', p, STORM, '--fail-on-regression', '0.1'])
  assert.equal(r.code, 0, r.stderr)
})

test('the same profile in two formats: cpuprofile vs its speedscope conversion shows no change in shares', async (t) => {
  const s = join(dir, 'storm.speedscope.json')
  const c = await runCli(['convert', STORM, '--to', 'speedscope', '-o', s])
  if (c.code !== 0) return t.skip(`convert --to speedscope failed: ${c.stderr.trim()}`)
  // speedscope keeps no profile window (start..end), only the sampled span, so absolute cores differ
  // by the gap before the first sample: compare shares.
  const j = await diffJson([STORM, s, '--basis', 'shares'])
  assertNoChange(j, 'speedscope', false)
  const r = await runCli(['diff', s, STORM, '--basis', 'shares', '--fail-on-regression', '0.1'])
  assert.equal(r.code, 0, r.stderr)
})

test('storm vs healthy: connect frames gone, CPU drops; reversed it is a regression (exit 1)', async () => {
  const j = await diffJson([STORM, HEALTHY])
  assert.equal(j.basis, 'cores')
  const rows = new Map<string, JRow>(j.rows.map((r: JRow) => [r.name, r]))
  for (const name of ['connectPeer', 'joinPeers']) {
    const r = rows.get(name)!
    assert.ok(r, name)
    assert.equal(r.status, 'gone', name)
    assert.ok(r.before.totalShare > 0.01, `${name} was visible before: ${r.before.totalShare}`)
    assert.equal(r.after.total, 0)
    assert.ok(r.delta.totalCores! < 0)
  }
  assert.ok(j.cpu.after < j.cpu.before * 0.7, `CPU dropped: ${j.cpu.before} -> ${j.cpu.after}`)
  assert.ok(j.cpu.change < -0.3)
  // analyze's rules run on both sides: the connect storm is resolved, nothing new.
  assert.equal(j.findings.available, true)
  assert.ok(j.findings.resolved.some((f: { ruleId: string }) => f.ruleId === 'connect-storm'), JSON.stringify(j.findings))
  assert.ok(!j.findings.new.some((f: { ruleId: string }) => f.ruleId === 'connect-storm'))
  const text = await runCli(['diff', STORM, HEALTHY])
  assert.equal(text.code, 0)
  // cores as analyze prints them: 2 decimals, 3 under 0.1 cores
  assert.match(text.stdout, /^CPU: (\d+\.\d\d|0\.0\d\d) -> (\d+\.\d\d|0\.0\d\d) cores \(-\d+%\)\s+samples: [\d,]+ -> [\d,]+$/m)
  assert.match(text.stdout, /connectPeer .*\[gone\] \[connect\]/)
  assert.match(text.stdout, /^resolved: .*connect-storm \(HIGH\)/m)
  const bad = await runCli(['diff', HEALTHY, STORM, '--fail-on-regression', '5'])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /^meshprof: regression: CPU .* cores \(\+\d+(\.\d)?%\) > 5%/)
  assert.equal(bad.stderr.trim().split('\n').length, 1)
  assert.match(bad.stdout, /connectPeer .*\[appeared\]/, 'the table is still printed')
  const bj = JSON.parse((await runCli(['diff', HEALTHY, STORM, '--fail-on-regression', '5', '--json'])).stdout)
  assert.equal(bj.regression.regressed, true)
  assert.ok(bj.regression.items.some((i: { kind: string; name?: string }) => i.kind === 'frame' && i.name === 'connectPeer'))
})

test('--by module, --focus, --limit, --sort self', async () => {
  const m = await diffJson([STORM, HEALTHY, '--by', 'module'])
  assert.equal(m.by, 'module')
  assert.ok(m.rows.some((r: JRow) => r.name === 'node:crypto'), m.rows.map((r: JRow) => r.name).join())
  const f = await diffJson([STORM, HEALTHY, '--focus', '^connectPeer '])
  assert.equal(f.filters.focus, '^connectPeer ')
  assert.ok(f.rows.every((r: JRow) => r.after.total === 0), 'nothing under connectPeer after')
  assert.ok(f.cpu.before > 0 && f.cpu.after === 0)
  const l = JSON.parse((await runCli(['diff', STORM, HEALTHY, '--json', '--limit', '3', '--sort', 'self'])).stdout)
  assert.equal(l.rows.length, 3)
  assert.ok(l.rowCount > 3)
  assert.equal(l.sort, 'self')
  for (let i = 1; i < 3; i++) assert.ok(Math.abs(l.rows[i - 1].delta.selfCores) >= Math.abs(l.rows[i].delta.selfCores))
  const nf = await diffJson([STORM, HEALTHY, '--no-findings'])
  assert.equal(nf.findings.available, false)
  // one side from stdin
  const st = await runCli(['diff', '-', HEALTHY, '--json', '--no-findings'], { input: readFileSync(STORM) })
  assert.equal(st.code, 0, st.stderr)
  assert.equal(JSON.parse(st.stdout).cpu.before, JSON.parse((await runCli(['diff', STORM, HEALTHY, '--json', '--no-findings'])).stdout).cpu.before)
})

test('--html writes a differential flamegraph page', async () => {
  const out = join(dir, 'out', 'diff.html')
  const r = await runCli(['diff', STORM, HEALTHY, '--html', out, '--title', '<b>storm</b> fix'])
  assert.equal(r.code, 0, r.stderr)
  const html = readFileSync(out, 'utf8')
  assert.match(html, /^<!DOCTYPE html>/i)
  assert.ok(html.includes('&lt;b&gt;storm&lt;/b&gt; fix'), 'title escaped')
  assert.ok(!html.includes('<b>storm</b>'))
  assert.match(html, /"mode":"diff"/)
  assert.ok(html.includes('connectPeer'))
})

const CORPUS_DIFF = join(CORPUS, 'diff')
const EXPECTED = (kind: string) => join(CORPUS_DIFF, 'expected', `inferno-diff-before.txt__vs__inferno-diff-after.txt.${kind}.txt`)

test('corpus pair: --difffolded equals difffolded.pl (plain, -n, -s)', { skip: CORPUS_SKIP }, async () => {
  const b = join(CORPUS_DIFF, 'inferno-diff-before.txt')
  const a = join(CORPUS_DIFF, 'inferno-diff-after.txt')
  for (const [kind, flags] of [['difffolded', []], ['difffolded-normalized', ['--normalize']], ['difffolded-striphex', ['--strip-hex']]] as const) {
    const r = await runCli(['diff', b, a, '--difffolded', ...flags])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, readFileSync(EXPECTED(kind), 'utf8'), kind)
  }
})

test('corpus pair: per-function self/total agree with the expected difffolded counts', { skip: CORPUS_SKIP }, async () => {
  const j = await diffJson([join(CORPUS_DIFF, 'inferno-diff-before.txt'), join(CORPUS_DIFF, 'inferno-diff-after.txt')])
  // Recompute self (leaf) and total (once per stack) per name from the reference output.
  const ref = new Map<string, { bs: number; as: number; bt: number; at: number }>()
  let tb = 0
  let ta = 0
  for (const line of readFileSync(EXPECTED('difffolded'), 'utf8').trim().split('\n')) {
    const m = /^(.*) (\d+) (\d+)$/.exec(line)!
    const frames = m[1]!.split(';')
    const bv = Number(m[2])
    const av = Number(m[3])
    tb += bv
    ta += av
    const leaf = frames[frames.length - 1]!
    for (const name of new Set(frames)) {
      const e = ref.get(name) ?? { bs: 0, as: 0, bt: 0, at: 0 }
      e.bt += bv
      e.at += av
      if (name === leaf) { e.bs += bv; e.as += av }
      ref.set(name, e)
    }
  }
  assert.equal(j.before.total, tb)
  assert.equal(j.after.total, ta)
  assert.equal(j.rows.length, ref.size)
  for (const r of j.rows as JRow[]) {
    const e = ref.get(r.name)!
    assert.deepEqual([r.before.self, r.after.self, r.before.total, r.after.total], [e.bs, e.as, e.bt, e.at], r.name)
    assert.equal(r.status, e.bt === 0 ? 'appeared' : e.at === 0 ? 'gone' : r.status)
  }
  assert.deepEqual(j.rows.filter((r: JRow) => r.status === 'gone').map((r: JRow) => r.name).sort(), ['0x234f2abc', '0xF1BDE348'])
  assert.deepEqual(j.rows.filter((r: JRow) => r.status === 'appeared').map((r: JRow) => r.name).sort(), ['__fdget_[k]', '__fget_light_[k]'])
})

test('error paths: one line on stderr, documented exit codes', async () => {
  const missing = await runCli(['diff', join(dir, 'nope.cpuprofile'), STORM])
  assert.equal(missing.code, 3)
  assert.ok(isCleanFailure(missing), missing.stderr)
  assert.match(missing.stderr, /nope\.cpuprofile: no such file/)

  const garbage = join(dir, 'garbage.bin')
  writeFileSync(garbage, Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x10, 0x99, 0x42, 0x00, 0x07]))
  const bad = await runCli(['diff', STORM, garbage])
  assert.equal(bad.code, 4)
  assert.ok(isCleanFailure(bad), bad.stderr)
  assert.match(bad.stderr, /garbage\.bin: unrecognized profile format/)

  const truncated = join(dir, 'truncated.cpuprofile')
  writeFileSync(truncated, readFileSync(STORM, 'utf8').slice(0, 2000))
  const tr = await runCli(['diff', truncated, STORM])
  assert.equal(tr.code, 4)
  assert.ok(isCleanFailure(tr), tr.stderr)

  const empty = join(dir, 'empty-dir')
  mkdirSync(empty, { recursive: true })
  const ed = await runCli(['diff', empty, STORM])
  assert.equal(ed.code, 4, ed.stderr) // as analyze, flamegraph and top: one directory reader
  assert.match(ed.stderr, /holds no capture/)

  for (const args of [['--by', 'line'], ['--sort', 'x'], ['--basis', 'x'], ['--normalize'], ['--json', '--difffolded'], ['--fail-on-regression', 'x'], ['--basis', 'cores'], ['--focus', '(']]) {
    const f = join(dir, 'storm.folded')
    if (!existsSync(f)) await runCli(['convert', STORM, '--to', 'folded', '-o', f])
    const r = await runCli(['diff', STORM, f, ...args])
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.ok(isCleanFailure(r), r.stderr)
  }
})

test('hostile frame names stay inert in the terminal and in JSON', async () => {
  const evil = join(dir, 'evil.folded')
  writeFileSync(evil, 'main;\x1b]0:pwned\x07evil 5\nmain;ok 5\n')
  const ok = join(dir, 'ok.folded')
  writeFileSync(ok, 'main;ok 10\n')
  const r = await runCli(['diff', ok, evil])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(!r.stdout.includes('\x1b'))
  assert.ok(!r.stdout.includes('\x07'))
  const j = JSON.parse((await runCli(['diff', ok, evil, '--json'])).stdout)
  assert.ok(j.rows.some((x: JRow) => x.name === '\x1b]0:pwned\x07evil' && x.status === 'appeared'))
})

