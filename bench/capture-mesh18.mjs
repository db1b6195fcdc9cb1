// How long `meshprof capture` of an 18-node mesh takes to come back, on a loaded host (run
// `npm run build` first). Goal: window + 2 s.
// Starts fixtures/mesh (healthy, 18 nodes sharing the default inspector port 9229, so their
// attaches are pipelined one after the other), plus HOGS Node processes that each spin a core, then
// captures every node in one window, ROUNDS times. Prints per round: the command's wall time (what a
// user waits, start-up and summary included), the capture's own time (attach + window + collection +
// files, `elapsedMs`), attach time, spread of window starts, and the load average.
// Env: NODES (18), WINDOW_S (8), ROUNDS (2), HOGS (2; 0 for a quiet host).
// Port 9229 is machine-wide: the bench takes the same lock as the inspector tests when flock(1) exists.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { children, startProc } from './_capture-target.mjs'

const LOCK = '/tmp/meshprof-inspector-tests.lock'
const FLOCK = ['/usr/bin/flock', '/bin/flock'].find((p) => existsSync(p))
if (FLOCK && !process.env.MESHPROF_BENCH_LOCKED) {
  const r = spawnSync(FLOCK, [LOCK, process.execPath, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, MESHPROF_BENCH_LOCKED: '1' } })
  process.exit(r.status ?? 1)
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(root, 'bin', 'meshprof.js')
const MESH = join(root, 'fixtures', 'mesh', 'mesh.js')
const NODES = Number(process.env.NODES ?? 18)
const WINDOW_S = Number(process.env.WINDOW_S ?? 8)
const ROUNDS = Number(process.env.ROUNDS ?? 2)
const HOGS = Number(process.env.HOGS ?? 2)
const work = mkdtempSync(join(tmpdir(), 'meshprof-bench-mesh18-'))
const cleanup = () => { for (const c of children) try { c.kill('SIGKILL') } catch { /* gone */ } rmSync(work, { recursive: true, force: true }) }
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

for (let i = 0; i < HOGS; i++) startProc(process.execPath, ['-e', 'for (;;) Math.sqrt(Math.random())'])

const pidsFile = join(work, 'pids.json')
const mesh = startProc(process.execPath, [MESH, '--nodes', String(NODES), '--mode', 'healthy', '--quiet', '--pids-file', pidsFile, '--title-prefix', `bench18-${process.pid}-`])
for (let i = 0; i < 1200 && !mesh.out().includes('{"mesh"'); i++) await sleep(100)
const pids = JSON.parse(readFileSync(pidsFile, 'utf8')).pids
await sleep(3000) // peers connected

const startup = startProc(process.execPath, [BIN, '--version'])
let t = Date.now()
await startup.exited
const startupMs = Date.now() - t

const rounds = []
for (let r = 0; r < ROUNDS; r++) {
  const dir = join(work, `round-${r}`)
  const load = loadavg()[0]
  t = Date.now()
  const p = startProc(process.execPath, [BIN, 'capture', ...pids.map(String), '-d', `${WINDOW_S}s`, '-o', dir, '--json'], { env: { ...process.env, NO_COLOR: '1' } })
  const code = await p.exited
  const wallMs = Date.now() - t
  if (code !== 0) throw new Error(`capture failed (${code}): ${p.err()}`)
  const j = JSON.parse(p.out())
  rounds.push({
    round: r,
    captured: j.captures.filter((c) => c.ok).length,
    wallMs,
    overWindowMs: wallMs - WINDOW_S * 1000,
    captureMs: j.elapsedMs,
    captureOverWindowMs: j.elapsedMs - WINDOW_S * 1000,
    attachMs: j.attachMs,
    startSpreadMs: j.startSpreadMs,
    load1: Number(load.toFixed(2)),
  })
  await sleep(1000)
}
mesh.child.kill('SIGTERM')

console.log(`${NODES}-node mesh (shared inspector port 9229), ${WINDOW_S} s window, ${HOGS} CPU hog(s) running on ${spawnSync('nproc').stdout?.toString().trim() ?? '?'} cores; meshprof --version takes ${startupMs} ms here`)
console.log('round  captured  command wall  (over window)  capture itself  (over window)  attach  start spread  load1')
for (const x of rounds) {
  console.log(`${String(x.round).padStart(5)}  ${`${x.captured}/${NODES}`.padStart(8)}  ${(x.wallMs / 1000).toFixed(2).padStart(10)} s  ${`+${(x.overWindowMs / 1000).toFixed(2)} s`.padStart(13)}  ${(x.captureMs / 1000).toFixed(2).padStart(12)} s  ${`+${(x.captureOverWindowMs / 1000).toFixed(2)} s`.padStart(13)}  ${String(x.attachMs).padStart(4)} ms  ${String(Math.round(x.startSpreadMs)).padStart(9)} ms  ${x.load1}`)
}
console.log('BENCH_JSON ' + JSON.stringify({ nodes: NODES, windowS: WINDOW_S, hogs: HOGS, startupMs, rounds }))
process.exit(0)
