// Real programs that are busy with real work, captured while they run: none may get busy-wait or
// connect-storm (issue 9). A saturated HTTP server, a CPU-bound Node batch job (setImmediate between
// batches over hashing and JSON), and a native CPU-bound C program through perf. Each is also
// analysed with busy-wait's load gates opened (minCores 0, blocking and time-slice gates off), so the
// verdict rests on the spin evidence itself and not on how much CPU this shared machine gave it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, runCli } from '../helpers/cli.js'
import { capture, cpuTicks, perfReady, spawnReady, startMesh, until } from '../helpers/mesh.js'

const W = join(ROOT, 'fixtures', 'workloads')
const work = mkdtempSync(join(tmpdir(), 'meshprof-workloads-'))
const OPEN_GATES = 'busy-wait.minCores=0,busy-wait.maxBlockingShare=1,busy-wait.minBusySlices=0'

async function findings(dir: string, extra: string[] = []): Promise<any> {
  const a = await runCli(['analyze', dir, '--json', '--level', 'info', ...extra], { timeoutMs: 60000 })
  assert.equal(a.code, 0, a.stderr)
  return JSON.parse(a.stdout)
}

function assertNoFalseAlarm(r: any, what: string) {
  const bad = r.findings.filter((f: any) => f.ruleId === 'busy-wait' || f.ruleId === 'connect-storm')
  assert.deepEqual(bad.map((f: any) => `${f.severity} ${f.ruleId}: ${f.message}`), [], `${what}: a false alarm`)
}

async function checkBoth(dir: string, what: string): Promise<any> {
  const r = await findings(dir)
  assertNoFalseAlarm(r, what)
  assertNoFalseAlarm(await findings(dir, ['--threshold', OPEN_GATES]), `${what} (busy-wait gates open)`)
  return r
}

test('a Node HTTP server saturated by a local load generator: busy, no busy-wait, no connect-storm', async () => {
  const server = await spawnReady(process.execPath, [join(W, 'http-server.js'), '--max-seconds', '60'], 'ready')
  const load = spawn(process.execPath, [join(W, 'http-load.js'), '--port', String(server.info.port), '--seconds', '20', '--concurrency', '32'], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const stat = () => server.lines.filter((l) => l.stat).at(-1)?.stat?.requests ?? 0
    // condition, not a sleep: requests are flowing
    await until(() => stat() >= 500, 'the server to answer 500 requests', 20000)
    const t0 = cpuTicks(server.info.pid), w0 = Date.now(), r0 = stat()
    const dir = await capture(work, [server.info.pid], '3s', 'http')
    const cores = ((cpuTicks(server.info.pid) - t0) * 10) / (Date.now() - w0)
    const r = await checkBoth(dir, 'HTTP server')
    assert.ok(stat() - r0 >= 1000, `the server handled only ${stat() - r0} requests during the capture`)
    // busy serving: its samples are mostly request work, not (idle) (how much CPU this shared machine
    // gave it varies; the open-gates analysis above does not depend on it)
    const top = JSON.parse((await runCli(['top', join(dir, (await import('node:fs')).readdirSync(dir).find((f) => f.endsWith('.capture.json'))!), '--json', '--limit', '1'])).stdout)
    assert.ok(top.busy > 0.3 * top.total, `on-CPU ${top.busy} of ${top.total}: the server mostly waited`)
    process.stderr.write(`http server: ${cores.toFixed(2)} cores, ${stat() - r0} requests during capture; findings: ${r.findings.map((f: any) => `${f.severity} ${f.ruleId}`).join(', ') || 'none'}\n`)
  } finally {
    load.kill('SIGKILL')
    server.proc.kill('SIGKILL')
  }
})

test('a CPU-bound Node computation (hashing + JSON, setImmediate between batches): no busy-wait, no connect-storm', async () => {
  const job = await spawnReady(process.execPath, [join(W, 'cpu-bound.js'), '--seconds', '60'], 'ready')
  try {
    await until(() => (job.lines.filter((l) => l.stat).at(-1)?.stat?.batches ?? 0) >= 20, 'the job to run batches', 20000)
    const dir = await capture(work, [job.info.pid], '3s', 'cpu')
    const r = await checkBoth(dir, 'CPU-bound Node job')
    // the job was busy: most of its samples are on-CPU work under the setImmediate loop
    const top = JSON.parse((await runCli(['top', join(dir, (await import('node:fs')).readdirSync(dir).find((f) => f.endsWith('.capture.json'))!), '--json', '--sort', 'total', '--limit', '5'])).stdout)
    assert.ok(top.busy > 0.8 * top.total, `busy ${top.busy} of ${top.total}`)
    assert.ok(top.rows.some((x: any) => x.name === 'processImmediate'), 'the re-scheduling frame is there: the rule had to look under it')
    process.stderr.write(`cpu-bound node: findings ${r.findings.map((f: any) => `${f.severity} ${f.ruleId}`).join(', ') || 'none'}\n`)
  } finally {
    job.proc.kill('SIGKILL')
  }
})

test('control: the fixture mesh busy-wait mode, captured the same way, IS busy-wait HIGH with the same gates open', async () => {
  // The same judgement as above on the real spin (selectLoop re-polling a closed channel via
  // setImmediate): the spin evidence tells the two apart, not the load of this machine.
  const mesh = await startMesh('busy-wait', 1)
  try {
    await until(() => mesh.stats.size === 1, 'the busy-wait node to report')
    const dir = await capture(work, mesh.pids, '3s', 'busy-control')
    const r = await findings(dir, ['--threshold', OPEN_GATES])
    const f = r.findings.find((x: any) => x.ruleId === 'busy-wait')
    // On a miss, say what the capture held (one CI run missed it once; it did not reproduce).
    const held = f ? '' : (await runCli(['top', dir, '--limit', '8'])).stdout
    assert.ok(f, `${JSON.stringify(r.findings.map((x: any) => [x.severity, x.ruleId, x.message]))}\n${held}`)
    assert.equal(f.severity, 'high')
    assert.equal(f.evidence.numbers.repollFrame, 'processImmediate')
    assert.ok(f.evidence.numbers.loopWorkShare <= 0.25, JSON.stringify(f.evidence.numbers))
  } finally {
    await mesh.stop()
  }
})

const perf = perfReady()
const NATIVE_SKIP = perf === true ? (existsSync(join(W, 'cpu-bound.c')) ? false : 'fixtures/workloads/cpu-bound.c missing') : `${perf}; skipping the native workload`
if (NATIVE_SKIP) process.stderr.write(`NOTE: ${NATIVE_SKIP}\n`)

test('a native CPU-bound C program through perf: no busy-wait, no connect-storm', { skip: NATIVE_SKIP }, async () => {
  const bin = join(work, 'cpu-bound')
  const cc = spawnSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-o', bin, join(W, 'cpu-bound.c')], { encoding: 'utf8' })
  assert.equal(cc.status, 0, cc.stderr)
  const proc = spawn(bin, ['60'], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = ''
      const t = setTimeout(() => reject(new Error('cpu-bound did not print READY')), 10000)
      proc.stdout!.on('data', (d) => { out += d; const m = /READY (\d+)/.exec(out); if (m) { clearTimeout(t); resolve(Number(m[1])) } })
      proc.on('exit', (c) => reject(new Error(`cpu-bound exited ${c}`)))
    })
    const dir = await capture(work, [pid], '3s', 'native')
    const r = await checkBoth(dir, 'native CPU-bound program')
    assert.equal(r.profiles[0].format, 'perf-script')
    assert.ok(r.profiles[0].samples > 100, `only ${r.profiles[0].samples} samples`)
  } finally {
    proc.kill('SIGKILL')
  }
})

test.after(() => rmSync(work, { recursive: true, force: true }))
