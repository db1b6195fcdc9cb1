// `capture --heap` and the growth rule against REAL processes: the set-growth mesh (a peers set that
// never shrinks, a per-connection interval never cleared) is flagged within one window and across two
// captures; a healthy mesh and a warm-up-then-plateau process are not; the heap pprof is read by
// `go tool pprof` with the same total as meshprof. Time is compressed with the fixture's reconnect
// rate (20 reconnects/s), so the set-growth captures are seconds apart, not minutes; the healthy mesh's
// are a minute apart.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/cli.js'
import { filesIn, killAll, meshprof, readJson, start, startMesh, tmp, waitFor, type Mesh, type Proc } from './helpers.js'

after(killAll)

const HAS_GO = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0
if (!HAS_GO) process.stderr.write('NOTE: go is not installed: the go tool pprof cross-check of the heap profile is skipped\n')
const PLATEAU = join(ROOT, 'fixtures', 'growth', 'plateau.js')

async function capture(pid: number, out: string, d = '6s'): Promise<void> {
  const r = await meshprof(['capture', String(pid), '--heap', '-d', d, '-o', out], { timeoutMs: 60000 })
  assert.equal(r.code, 0, `capture failed: ${r.stderr}`)
}

async function analyze(...dirs: string[]): Promise<any> {
  const r = await meshprof(['analyze', ...dirs, '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

// The healthy mesh is captured first and again 60 s later, in the last test of this file: the two
// captures are a minute apart, as the issue asks, and the minute is spent running the other tests.
const HEALTHY_APART_MS = 60000
const healthyDir = tmp('growth-healthy')
let healthy: Mesh | undefined
let healthyT0At = 0
before(async () => {
  healthy = await startMesh(2, 'healthy', ['--node-arg=--inspect-port=0'])
  await capture(healthy.pids[0]!, join(healthyDir, 't0'))
  healthyT0At = Date.now()
})
after(async () => { await healthy?.stop() })

const growthOf = (rep: any, cross: boolean) => rep.findings.filter((f: any) => f.ruleId === 'growth' && (f.profile === null) === cross)

describe('set-growth: peers kept in a Set and a timer per connection, never released', () => {
  let mesh: Mesh
  const dir = tmp('growth')
  const t0 = join(dir, 't0')
  const t1 = join(dir, 't1')
  let pid = 0

  before(async () => {
    mesh = await startMesh(2, 'set-growth', ['--node-arg=--inspect-port=0'])
    pid = mesh.pids[0]!
    await capture(pid, t0)
    // the second capture once the node has made at least 100 more reconnects (~5 s at 20/s)
    const c0 = mesh.stats().get(0)!.connects
    await waitFor(() => mesh.stats().get(0)!.connects >= c0 + 100, 30000, '100 more reconnects')
    await capture(pid, t1)
  })
  after(async () => { await mesh?.stop() })

  test('the capture holds a heap profile, handles by type and /proc figures every second', () => {
    const cap = readJson(join(t0, filesIn(t0).find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.heap.file, `node-${pid}.heap.pb.gz`)
    assert.ok(existsSync(join(t0, cap.heap.file)))
    const names = cap.growth.series.map((s: any) => s.name)
    for (const n of ['handles.Timeout', 'heap.used', 'rss', 'fds', 'threads']) assert.ok(names.includes(n), `${n} in ${names}`)
    const timeouts = cap.growth.series.find((s: any) => s.name === 'handles.Timeout').points
    assert.ok(timeouts.length >= 6, `one point a second over 6 s: ${timeouts.length}`)
    assert.ok(cap.growth.heapStats.start.used_heap_size > 0 && cap.growth.heapStats.end.used_heap_size > 0)
    assert.ok(cap.growth.sites.some((s: any) => s.frames.some((f: string) => f.startsWith('onPeerReconnect '))), 'the leaking site is recorded')
  })

  test('one window: the timer handles grow steadily and are flagged, with the rate per hour and the fix', async () => {
    const rep = await analyze(t0)
    const f = growthOf(rep, false).find((x: any) => x.evidence.numbers.series === 'handles.Timeout')
    assert.ok(f, JSON.stringify(rep.findings.map((x: any) => x.message)))
    assert.ok(f.evidence.numbers.gain >= 50, `~20 timers a second over 6 s: ${f.evidence.numbers.gain}`)
    assert.ok(f.evidence.numbers.perHour > 30000 && f.evidence.numbers.perHour < 150000, `~72,000/h: ${f.evidence.numbers.perHour}`)
    assert.match(f.remedy, /clear the per-connection timer on close/)
    assert.match(f.evidence.notes[0], /^handles\.Timeout: 0s \d+, 1s \d+/)
  })

  test('two captures: handles and the allocation site grow across them; --fail-on high exits 1', async () => {
    const rep = await analyze(t0, t1)
    const cross = growthOf(rep, true)
    const handles = cross.find((x: any) => x.evidence.numbers.series === 'handles.Timeout')
    assert.ok(handles, JSON.stringify(cross.map((x: any) => x.message)))
    assert.deepEqual(handles.profiles, [0, 1])
    assert.equal(handles.severity, 'high')
    assert.match(handles.message, /across 2 captures/)
    const site = cross.find((x: any) => x.evidence.stacks.length && x.frames.includes('onPeerReconnect'))
    assert.ok(site, `a growing allocation site under onPeerReconnect: ${JSON.stringify(cross.map((x: any) => x.message))}`)
    assert.ok(site.evidence.numbers.perHour > 0 && site.evidence.numbers.captures === 2)
    assert.match(site.remedy, /remove closed peers from every registry/)
    const r = await meshprof(['analyze', t0, t1, '--fail-on', 'high'])
    assert.equal(r.code, 1, r.stderr)
  })

  test('diff --heap: the leaking site holds live heap in both windows; a side without heap profiles is exit 3', async () => {
    const r = await meshprof(['diff', t0, t1, '--heap', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    const site = d.rows.find((x: any) => x.site.some((f: string) => f.startsWith('onPeerReconnect ')))
    assert.ok(site && site.before > 0 && site.after > 0, JSON.stringify(d.rows.slice(0, 5)))
    assert.ok(d.after.handles.Timeout > d.before.handles.Timeout, 'timers piled up between the captures')
    const text = await meshprof(['diff', t0, t1, '--heap'])
    assert.match(text.stdout, /^handles: Timeout \d+ -> \d+ \(\+\d+\)/m)
    // the same capture without its heap profile
    const bare = join(dir, 'bare')
    mkdirSync(bare)
    const name = filesIn(t0).find((f) => f.endsWith('.capture.json'))!
    const cap = readJson(join(t0, name))
    delete cap.heap
    writeFileSync(join(bare, name), JSON.stringify(cap))
    copyFileSync(join(t0, cap.profile.file), join(bare, cap.profile.file))
    const e = await meshprof(['diff', bare, t1, '--heap'])
    assert.equal(e.code, 3)
    assert.match(e.stderr, /no heap profile .* among its captures/)
    assert.ok(!/\n\s+at /.test(e.stderr), 'no stack trace')
  })

  test('top of the heap profile: inuse_space by allocation site; go tool pprof agrees on the total', { skip: HAS_GO ? false : 'go is not installed' }, async () => {
    const heap = join(t1, `node-${pid}.heap.pb.gz`)
    const r = await meshprof(['top', heap, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const top = JSON.parse(r.stdout)
    assert.equal(top.valueType, 'inuse_space')
    assert.equal(top.unit, 'bytes')
    assert.ok(top.rows.some((row: any) => row.name === 'onPeerReconnect'))
    const g = spawnSync('go', ['tool', 'pprof', '-raw', heap], { encoding: 'utf8', timeout: 120000 })
    assert.equal(g.status, 0, g.stderr)
    const header = g.stdout.split('\n')[g.stdout.split('\n').indexOf('Samples:') + 1]!.trim().split(/\s+/)
    assert.deepEqual(header.map((h) => h.replace('[dflt]', '')), ['inuse_objects/count', 'inuse_space/bytes'])
    const topText = spawnSync('go', ['tool', 'pprof', '-top', heap], { encoding: 'utf8', timeout: 120000 }).stdout
    assert.match(topText, /^Type: inuse_space$/m, 'go shows inuse_space by default, as meshprof top does')
    let total = 0
    for (const m of g.stdout.matchAll(/^\s*(\d+)\s+(\d+):/gm)) total += Number(m[2])
    assert.equal(total, top.total)
  })
})

test('agent path (meshprof run --heap): @datadog/pprof heap profile, the growing site flagged within one window', async () => {
  const dir = tmp('growth-agent')
  const leak = join(dir, 'leak.js')
  writeFileSync(leak, [
    'const kept = new Set()',
    'function rememberPeer(i) { kept.add({ i, history: new Array(512).fill(i) }) }',
    'let i = 0',
    'const t = setInterval(() => { for (let k = 0; k < 20; k++) rememberPeer(i++) }, 10)',
    'setTimeout(() => clearInterval(t), 15000)',
  ].join('\n'))
  const out = join(dir, 'cap')
  const r = await meshprof(['run', '--heap', '-d', '5s', '--stop', '-o', out, '--', process.execPath, leak], { timeoutMs: 60000 })
  assert.equal(r.code, 0, r.stderr)
  const name = filesIn(out).find((f) => f.endsWith('.capture.json'))!
  const cap = readJson(join(out, name))
  assert.equal(cap.process.backend, 'agent')
  assert.ok(cap.heap && existsSync(join(out, cap.heap.file)), 'heap profile written')
  const top = JSON.parse((await meshprof(['top', join(out, cap.heap.file), '--json'])).stdout)
  assert.equal(top.valueType, 'inuse_space')
  assert.ok(top.rows.some((row: any) => row.name === 'rememberPeer'), JSON.stringify(top.rows.slice(0, 5).map((x: any) => x.name)))
  const rep = await analyze(out)
  const site = growthOf(rep, false).find((f: any) => f.frames.includes('rememberPeer'))
  assert.ok(site, JSON.stringify(rep.findings.map((f: any) => f.message)))
  assert.ok(site.evidence.numbers.perHour > 0)
})

describe('not growth: a healthy mesh, and a process that warms up and then plateaus', () => {
  test('warm-up then plateau (timers and a bounded cache filled, then steady): not flagged', async () => {
    const p: Proc = start(process.execPath, [PLATEAU], { env: { WARM_MS: '3000' } })
    try {
      await waitFor(() => p.stdout().includes('"ready"'), 10000, 'the plateau process')
      const dir = tmp('growth-plateau')
      // the first window covers the warm-up and the plateau after it
      await capture(p.pid, join(dir, 't0'), '8s')
      await capture(p.pid, join(dir, 't1'), '4s')
      const cap = readJson(join(dir, 't0', filesIn(join(dir, 't0')).find((f) => f.endsWith('.capture.json'))!))
      const timeouts = cap.growth.series.find((s: any) => s.name === 'handles.Timeout').points.map((x: number[]) => x[1])
      assert.ok(timeouts[timeouts.length - 1] > timeouts[0], `the window saw the warm-up: ${timeouts}`)
      const rep = await analyze(join(dir, 't0'), join(dir, 't1'))
      assert.deepEqual(rep.findings.filter((f: any) => f.ruleId === 'growth').map((f: any) => f.message), [])
    } finally {
      await p.kill()
    }
  })
})

test('healthy mesh: no growth finding in either capture nor across them (captures 60 s apart)', async () => {
  assert.ok(healthy && healthyT0At > 0, 'the first healthy capture was taken')
  await waitFor(() => Date.now() - healthyT0At >= HEALTHY_APART_MS, HEALTHY_APART_MS + 30000, '60 s since the first healthy capture')
  await capture(healthy.pids[0]!, join(healthyDir, 't1'))
  const rep = await analyze(join(healthyDir, 't0'), join(healthyDir, 't1'))
  assert.deepEqual(rep.findings.filter((f: any) => f.ruleId === 'growth').map((f: any) => f.message), [])
  assert.ok(!rep.profiles.some((p: any) => p.skipped.some((s: any) => s.ruleId === 'growth')), 'the rule ran on both captures')
  const t = (d: string) => readJson(join(healthyDir, d, filesIn(join(healthyDir, d)).find((f) => f.endsWith('.capture.json'))!)).process.startTimeMs
  assert.ok(t('t1') - t('t0') >= HEALTHY_APART_MS, `windows ${t('t1') - t('t0')} ms apart`)
})
