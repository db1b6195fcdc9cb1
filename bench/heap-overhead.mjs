// Cost of `capture --heap` (V8's sampling heap profiler at its default 32 KiB interval, handles and
// heap statistics every second, the live heap walked ten times a window), measured in one run on the
// allocation-heavy CPU-bound target of capture-overhead.mjs (JSON records: it allocates ~100 MB/s):
// alternating windows of the SAME process — not captured, captured (CPU only), captured with --heap —
// and ratios of the mean rates in ops per CPU-second of the target (host load does not move it).
// "heap vs CPU-only" is the heap profiler's own cost; "heap vs none" the whole capture's.
// Prints a table and one `BENCH_JSON {...}` line. Env: ROUNDS (4), WINDOW_S (4), BACKENDS (inspector,agent).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { children, rate, startProc, writeFixture } from './_capture-target.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(root, 'bin', 'meshprof.js')
const PRELOAD = join(root, 'dist', 'src', 'capture', 'agent', 'preload.cjs')
const ROUNDS = Number(process.env.ROUNDS ?? 4)
const WINDOW_S = Number(process.env.WINDOW_S ?? 4)
const ONLY = (process.env.BACKENDS ?? 'inspector,agent').split(',').filter((b) => b === 'inspector' || b === 'agent')
const work = mkdtempSync(join(tmpdir(), 'meshprof-bench-heap-'))
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL') } catch { /* gone */ } rmSync(work, { recursive: true, force: true }) })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const fixturePath = writeFixture(work)
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length

async function capturedRate(fx, backend, dir, heap) {
  const p = startProc(process.execPath, [BIN, 'capture', String(fx.child.pid), '--via', backend, '-d', `${WINDOW_S}s`, '-o', dir, ...(heap ? ['--heap'] : [])], { env: { ...process.env, NO_COLOR: '1' } })
  if ((await p.exited) !== 0) throw new Error(`capture via ${backend}${heap ? ' --heap' : ''} failed: ${p.err()}`)
  const c = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.capture.json'))), 'utf8'))
  if (heap && !c.heap) throw new Error(`--heap wrote no heap profile: ${c.warnings.join('; ')}`)
  return rate(fx.out(), c.process.startTimeMs + 100, c.process.startTimeMs + c.process.durationMs).cpu
}

async function overhead(backend) {
  const fx = startProc(process.execPath, backend === 'agent' ? ['--require', PRELOAD, fixturePath] : [fixturePath], { cwd: work })
  await sleep(1500) // warm up (JIT)
  const none = []
  const cpu = []
  const heap = []
  for (let r = 0; r < ROUNDS; r++) {
    const b0 = Date.now()
    await sleep(WINDOW_S * 1000)
    none.push(rate(fx.out(), b0 + 100, Date.now()).cpu)
    cpu.push(await capturedRate(fx, backend, join(work, `${backend}-cpu-${r}`), false))
    await sleep(300)
    heap.push(await capturedRate(fx, backend, join(work, `${backend}-heap-${r}`), true))
    await sleep(300)
  }
  fx.child.kill('SIGKILL')
  const heapVsCpu = mean(heap) / mean(cpu)
  const heapVsNone = mean(heap) / mean(none)
  return {
    backend,
    rounds: ROUNDS,
    windowS: WINDOW_S,
    samplingIntervalBytes: 32768,
    noneOpsPerCpuS: Math.round(mean(none)),
    cpuOnlyOpsPerCpuS: Math.round(mean(cpu)),
    heapOpsPerCpuS: Math.round(mean(heap)),
    heapVsCpuOnly: Number(heapVsCpu.toFixed(4)),
    heapLostPct: Number(((1 - heapVsCpu) * 100).toFixed(2)),
    heapVsNone: Number(heapVsNone.toFixed(4)),
    totalLostPct: Number(((1 - heapVsNone) * 100).toFixed(2)),
    perRoundHeapVsCpuOnly: cpu.map((c, i) => Number((heap[i] / c).toFixed(4))),
  }
}

const results = { overhead: [] }
for (const b of ONLY) results.overhead.push(await overhead(b))
console.log('capture --heap overhead on an allocation-heavy CPU-bound Node process, same process, alternating windows')
console.log('throughput as ops per CPU-second of the target; heap profiler at its default interval (32 KiB)')
console.log('back-end    none ops/cpu-s  cpu-only  with --heap  heap vs cpu-only  lost   heap vs none  lost   per round (heap/cpu-only)')
for (const o of results.overhead) {
  console.log(`${o.backend.padEnd(10)}  ${String(o.noneOpsPerCpuS).padStart(14)}  ${String(o.cpuOnlyOpsPerCpuS).padStart(8)}  ${String(o.heapOpsPerCpuS).padStart(11)}  ${o.heapVsCpuOnly.toFixed(3).padStart(16)}  ${o.heapLostPct.toFixed(1).padStart(4)}%  ${o.heapVsNone.toFixed(3).padStart(12)}  ${o.totalLostPct.toFixed(1).padStart(4)}%  ${o.perRoundHeapVsCpuOnly.join(' ')}`)
}
console.log('BENCH_JSON ' + JSON.stringify(results))
process.exit(0)
