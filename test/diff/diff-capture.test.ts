// `meshprof diff` on REAL captures of the fixture mesh (fixtures/mesh/mesh.js): a connect-storm mesh
// and a healthy mesh, each captured by `meshprof capture` over the same window length, diffed as
// directories (mesh-wide, all nodes) and through mesh.json. ~15 s: both meshes run at once.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, existsSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, ROOT, isCleanFailure } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-diff-cap-'))
const MESH = join(ROOT, 'fixtures', 'mesh', 'mesh.js')
const meshes: ChildProcess[] = []

/** Start a 3-node mesh; resolves with its pids once every node listens (the mesh's ready line). */
function startMesh(mode: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    // --duration is only a safety net: the test ends the mesh itself. --inspect-port=0: the inspector
    // opens on a free port, so captures running at the same time (other tests) do not fight over 9229.
    const child = spawn(process.execPath, [MESH, '--nodes', '3', '--mode', mode, '--duration', '90', '--quiet', '--stdin-exit', '--node-arg=--inspect-port=0'], { stdio: ['pipe', 'pipe', 'pipe'] })
    meshes.push(child)
    let buf = ''
    let err = ''
    const t = setTimeout(() => reject(new Error(`mesh ${mode} not ready in 20 s: ${err}`)), 20000)
    child.stderr!.on('data', (d) => { err += d })
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      buf += d
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (!line.startsWith('{"mesh"')) continue
        clearTimeout(t)
        resolve(JSON.parse(line).mesh.pids)
      }
    })
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`mesh ${mode} exited ${code}: ${err}`)) })
  })
}

function stopMesh(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const t = setTimeout(() => { child.kill('SIGKILL') }, 5000)
    child.once('exit', () => { clearTimeout(t); resolve() })
    child.kill('SIGTERM')
  })
}

const STORM = join(dir, 'storm')
const HEALTHY = join(dir, 'healthy')
let setupError: Error | undefined

before(async () => {
  try {
    const [stormPids, healthyPids] = await Promise.all([startMesh('connect-storm'), startMesh('healthy')])
    const [a, b] = await Promise.all([
      runCli(['capture', ...stormPids.map(String), '-d', '4s', '-o', STORM], { timeoutMs: 40000 }),
      runCli(['capture', ...healthyPids.map(String), '-d', '4s', '-o', HEALTHY], { timeoutMs: 40000 }),
    ])
    assert.equal(a.code, 0, `capture storm: ${a.stderr}`)
    assert.equal(b.code, 0, `capture healthy: ${b.stderr}`)
  } catch (e) {
    setupError = e as Error
  } finally {
    await Promise.all(meshes.map(stopMesh))
  }
})

after(async () => {
  await Promise.all(meshes.map(stopMesh))
  rmSync(dir, { recursive: true, force: true })
})

interface JRow { name: string; status: string; before: { totalShare: number; totalCores: number }; after: { totalShare: number; totalCores: number } }

test('connect-storm capture vs healthy capture: connect frames gone or shrunk, CPU drops, finding resolved', async () => {
  if (setupError) throw setupError
  assert.ok(readdirSync(STORM).filter((f) => f.endsWith('.capture.json')).length === 3)
  const r = await runCli(['diff', STORM, HEALTHY, '--json', '--limit', '0'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.equal(j.basis, 'cores', j.basisReason)
  assert.match(j.basisReason, /measured process CPU/)
  assert.equal(j.before.nodes.length, 3)
  assert.equal(j.after.nodes.length, 3)
  assert.deepEqual(j.nodes.map((n: { name: string }) => n.name), ['mesh-node-0', 'mesh-node-1', 'mesh-node-2'])
  assert.ok(j.nodes.every((n: { before: unknown; after: unknown }) => n.before && n.after), 'every node paired by name across captures')
  // The whole mesh burns less CPU without the storm.
  assert.ok(j.cpu.after < j.cpu.before, `CPU ${j.cpu.before} -> ${j.cpu.after}`)
  const rows = new Map<string, JRow>(j.rows.map((x: JRow) => [x.name, x]))
  for (const name of ['connectPeer', 'joinPeers']) {
    const x = rows.get(name)
    assert.ok(x, `${name} is in the storm profile`)
    assert.ok(x.before.totalShare > 0, name)
    assert.ok(x.status === 'gone' || x.after.totalShare < x.before.totalShare / 4, `${name}: ${x.status} ${x.before.totalShare} -> ${x.after.totalShare}`)
    assert.ok(x.after.totalCores < x.before.totalCores)
  }
  assert.equal(j.findings.available, true)
  assert.ok(j.findings.resolved.some((f: { ruleId: string }) => f.ruleId === 'connect-storm'), JSON.stringify(j.findings))

  const text = await runCli(['diff', STORM, HEALTHY])
  assert.equal(text.code, 0, text.stderr)
  // cores as analyze prints them: 2 decimals, 3 under 0.1 cores
  assert.match(text.stdout, /^CPU: (\d+\.\d\d|0\.0\d\d) -> (\d+\.\d\d|0\.0\d\d) cores \(-\d+(\.\d)?%\)/m)
  assert.match(text.stdout, /^resolved: .*connect-storm/m)
  assert.match(text.stdout, /^mesh-node-0\s+(\d\.\d\d|0\.0\d\d) -> (\d\.\d\d|0\.0\d\d)\s+/m)
})

test('captures through mesh.json, and the reverse direction fails --fail-on-regression', async () => {
  if (setupError) throw setupError
  assert.ok(existsSync(join(STORM, 'mesh.json')))
  const m = await runCli(['diff', join(STORM, 'mesh.json'), join(HEALTHY, 'mesh.json'), '--json'])
  assert.equal(m.code, 0, m.stderr)
  assert.equal(JSON.parse(m.stdout).nodes.length, 3)
  const r = await runCli(['diff', HEALTHY, STORM, '--fail-on-regression', '10'])
  assert.equal(r.code, 1, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /^meshprof: regression: CPU .* cores \(\+\d+(\.\d)?%\) > 10%/)
})
