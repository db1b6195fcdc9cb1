// `npm run demo`: the seed incident in two minutes, on this machine.
// 1. start a 5-node TLS gossip mesh with the connect-storm bug (fixtures/mesh), 2. `meshprof capture`
// every node for 8 s (attach to the running pids: no restart), 3. `analyze` says what it is,
// 4. `flamegraph` draws it, 5. restart the mesh fixed (healthy), capture again, 6. `diff` proves the fix.
// Everything stays on 127.0.0.1; every process started here is stopped by pid at the end.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'meshprof-demo')
const bin = join(root, 'bin', 'meshprof.js')
const NODES = Number(process.env.DEMO_NODES ?? 5)
const SECONDS = process.env.DEMO_SECONDS ?? '8'
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

function startMesh(mode) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, 'fixtures/mesh/mesh.js'), '--nodes', String(NODES), '--fanout', String(NODES - 1), '--mode', mode, '--quiet', '--stdin-exit', '--title-prefix', 'demo-node-'], { stdio: ['pipe', 'pipe', 'inherit'] })
    let buf = ''
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`mesh ${mode} did not start in 30 s`)) }, 30000)
    p.stdout.on('data', (d) => {
      buf += d
      for (const line of buf.split('\n')) {
        try {
          const m = JSON.parse(line)
          if (m.mesh) { clearTimeout(timer); resolve({ proc: p, pids: m.mesh.pids }); return }
        } catch { /* partial line */ }
      }
    })
    p.on('exit', (c) => reject(new Error(`mesh exited (${c})`)))
  })
}

async function stopMesh(m) {
  const gone = new Promise((r) => m.proc.once('exit', r))
  m.proc.stdin.end()
  m.proc.kill('SIGTERM')
  await gone
  for (const pid of m.pids) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
}

function meshprof(args) {
  console.log(`\n$ meshprof ${args.join(' ')}`)
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', cwd: root })
  return r.status
}

let mesh
try {
  console.log(`starting a ${NODES}-node TLS gossip mesh with the connect-storm bug (join every peer on every 100 ms tick)...`)
  mesh = await startMesh('connect-storm')
  meshprof(['capture', ...mesh.pids.map(String), '-d', `${SECONDS}s`, '-o', 'meshprof-demo/before', '--top', '8'])
  meshprof(['analyze', 'meshprof-demo/before'])
  meshprof(['flamegraph', 'meshprof-demo/before', '-o', 'meshprof-demo/before.flame.html', '--title', 'connect storm (before the fix)'])
  await stopMesh(mesh)
  mesh = undefined

  console.log('\nrestarting the mesh with the fix (remember joined peers; connect only to new ones)...')
  mesh = await startMesh('healthy')
  meshprof(['capture', ...mesh.pids.map(String), '-d', `${SECONDS}s`, '-o', 'meshprof-demo/after', '--top', '5'])
  await stopMesh(mesh)
  mesh = undefined
  meshprof(['diff', 'meshprof-demo/before', 'meshprof-demo/after', '--limit', '8', '--html', 'meshprof-demo/diff.html'])
  console.log(`\nopen meshprof-demo/before.flame.html and meshprof-demo/diff.html in a browser (offline files).`)
} finally {
  if (mesh) await stopMesh(mesh)
}
