// Capture overhead, measured in one run (run `npm run build` first):
// 1. Throughput lost by a CPU-bound Node process while it is captured at the default rate, for the
//    inspector and the agent back-ends: alternating rounds of "not captured" and "captured" windows
//    of the SAME process, ratio of the mean rates (so host noise hits both sides alike).
// 2. meshprof's own CPU during a 15 s capture of an 18-node mesh (fixtures/mesh, healthy mode), and
//    the spread of the 18 window starts (must be < 1 s).
// Throughput is ops per CPU-second of the target process (sampler thread included): on a shared host
// the wall-clock rate swings with other load, the CPU-normalised one does not (wall ratio printed too).
// Prints a table and one `BENCH_JSON {...}` line. Env: ROUNDS (4), WINDOW_S (4), MESH_NODES (18; 0 skips),
// MESH_S (15), RATE (499), BACKENDS (inspector,agent).
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { children, rate, startProc, writeFixture } from './_capture-target.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(root, 'bin', 'meshprof.js')
const PRELOAD = join(root, 'dist', 'src', 'capture', 'agent', 'preload.cjs')
const MESH = join(root, 'fixtures', 'mesh', 'mesh.js')
const ROUNDS = Number(process.env.ROUNDS ?? 4)
const WINDOW_S = Number(process.env.WINDOW_S ?? 4)
const MESH_NODES = Number(process.env.MESH_NODES ?? 18)
const MESH_S = Number(process.env.MESH_S ?? 15)
const RATE = Number(process.env.RATE ?? 499)
const ONLY = (process.env.BACKENDS ?? 'inspector,agent').split(',').filter((b) => b === 'inspector' || b === 'agent')
const work = mkdtempSync(join(tmpdir(), 'meshprof-bench-capture-'))
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL') } catch { /* gone */ } rmSync(work, { recursive: true, force: true }) })

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const fixturePath = writeFixture(work)

async function meshprof(args, extra = {}) {
  const p = startProc(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, ...extra })
  const code = await p.exited
  return { code, out: p.out(), err: p.err() }
}

async function overhead(backend) {
  const args = backend === 'agent' ? ['--require', PRELOAD, fixturePath] : [fixturePath]
  const fx = startProc(process.execPath, args, { cwd: work })
  await sleep(1500) // warm up (JIT)
  const base = []
  const cap = []
  for (let r = 0; r < ROUNDS; r++) {
    const b0 = Date.now()
    await sleep(WINDOW_S * 1000)
    base.push(rate(fx.out(), b0 + 100, Date.now()))
    const dir = join(work, `${backend}-${r}`)
    const res = await meshprof(['capture', String(fx.child.pid), '--via', backend, '-d', `${WINDOW_S}s`, '--rate', String(RATE), '-o', dir, '--json'])
    if (res.code !== 0) throw new Error(`capture via ${backend} failed: ${res.err}`)
    const capFile = readdirSync(dir).find((f) => f.endsWith('.capture.json'))
    const c = JSON.parse(readFileSync(join(dir, capFile), 'utf8'))
    cap.push(rate(fx.out(), c.process.startTimeMs + 100, c.process.startTimeMs + c.process.durationMs))
    await sleep(300)
  }
  fx.child.kill('SIGKILL')
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  const wallRatio = mean(cap.map((x) => x.wall)) / mean(base.map((x) => x.wall))
  const cpuRatio = mean(cap.map((x) => x.cpu)) / mean(base.map((x) => x.cpu))
  return {
    backend,
    rateHz: RATE,
    rounds: ROUNDS,
    windowS: WINDOW_S,
    baselineOpsPerCpuS: Math.round(mean(base.map((x) => x.cpu))),
    capturedOpsPerCpuS: Math.round(mean(cap.map((x) => x.cpu))),
    cpuRatio: Number(cpuRatio.toFixed(4)),
    lostPct: Number(((1 - cpuRatio) * 100).toFixed(2)),
    wallRatio: Number(wallRatio.toFixed(4)),
    perRoundCpuRatio: base.map((b, i) => Number((cap[i].cpu / b.cpu).toFixed(4))),
  }
}

async function meshCapture() {
  const pidsFile = join(work, 'pids.json')
  const mesh = startProc(process.execPath, [MESH, '--nodes', String(MESH_NODES), '--mode', 'healthy', '--quiet', '--pids-file', pidsFile, '--title-prefix', `bench${process.pid}-`])
  for (let i = 0; i < 600; i++) {
    if (mesh.out().includes('{"mesh"')) break
    await sleep(100)
  }
  const info = JSON.parse(readFileSync(pidsFile, 'utf8'))
  await sleep(2000)
  const cpuReport = join(work, 'cpu-report.cjs')
  writeFileSync(cpuReport, "process.on('exit', () => { const u = process.cpuUsage(); require('fs').writeSync(2, 'MESHPROF_CPU ' + JSON.stringify(u) + '\\n') })\n")
  const dir = join(work, 'mesh18')
  const t0 = Date.now()
  const p = startProc(process.execPath, ['--require', cpuReport, BIN, 'capture', ...info.pids.map(String), '-d', `${MESH_S}s`, '-o', dir, '--json'], { env: { ...process.env, NO_COLOR: '1' } })
  const code = await p.exited
  const wallMs = Date.now() - t0
  mesh.child.kill('SIGTERM')
  if (code !== 0) throw new Error(`18-node capture failed (${code}): ${p.err()}`)
  const cpu = JSON.parse(/MESHPROF_CPU (.*)/.exec(p.err())[1])
  const j = JSON.parse(p.out())
  const ok = j.captures.filter((c) => c.ok).length
  const cpuMs = (cpu.user + cpu.system) / 1000
  return { nodes: MESH_NODES, windowS: MESH_S, captured: ok, startSpreadMs: j.startSpreadMs, attachMs: j.attachMs, wallMs, meshprofCpuMs: Math.round(cpuMs), meshprofCpuPctOfCore: Number(((cpuMs / wallMs) * 100).toFixed(2)) }
}

const results = { overhead: [] }
for (const b of ONLY) {
  results.overhead.push(await overhead(b))
}
if (MESH_NODES > 0) results.mesh = await meshCapture()

console.log(`capture overhead on a CPU-bound Node process (rate ${RATE} Hz), same process, alternating windows`)
console.log('throughput as ops per CPU-second of the target (host load does not move it); wall-clock ratio for reference')
console.log('back-end    baseline ops/cpu-s  captured ops/cpu-s  ratio   lost   wall ratio  per round')
for (const o of results.overhead) {
  console.log(`${o.backend.padEnd(10)}  ${String(o.baselineOpsPerCpuS).padStart(18)}  ${String(o.capturedOpsPerCpuS).padStart(18)}  ${o.cpuRatio.toFixed(3)}  ${o.lostPct.toFixed(1).padStart(4)}%  ${o.wallRatio.toFixed(3).padStart(10)}  ${o.perRoundCpuRatio.join(' ')}`)
}
const m = results.mesh
if (m) console.log(`\n${m.nodes}-node mesh, ${m.windowS} s capture: ${m.captured}/${m.nodes} captured, window starts within ${m.startSpreadMs} ms, ` +
  `attaching all took ${m.attachMs} ms; meshprof used ${m.meshprofCpuMs} ms CPU in ${(m.wallMs / 1000).toFixed(1)} s wall (${m.meshprofCpuPctOfCore}% of one core)`)
console.log('BENCH_JSON ' + JSON.stringify(results))
process.exit(0)
