// The incident's own stack: a Rust tokio + rustls mesh (fixtures/rust-mesh, built once and cached) through
// real perf. A connect-storm mesh and a fixed mesh of 4 nodes run at once and are captured together
// (`meshprof capture <pids>`, 4 s at 1999 Hz: each node uses ~1-3% of a core); while the storm is
// captured, a user's own `perf record` + `perf script` of one storm node runs beside it, and every storm
// node writes its own spans as tracing-flame folded stacks. ~25 s after the first build.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '../helpers/cli.js'
import { killAll, meshprof, perfUsable, start, tmp, waitFor, type Proc } from './helpers.js'

after(killAll)

const MESH = join(ROOT, 'fixtures', 'rust-mesh', 'mesh.mjs')
const NODES = 4
/** The handshake / connect frames of this program: tokio-rustls, rustls, ring, and its own join_peers / connect_peer. */
const HANDSHAKE = /^<?(tokio_rustls|rustls|ring)::|^GFp_|^rust_mesh_node::Node::(join_peers|connect_peer)::/

/** Build the Rust node (cached by source hash); a skip reason when this machine cannot. */
function buildOrSkip(): string | false {
  if (!perfUsable()) return 'perf is not installed'
  const r = spawnSync(process.execPath, [join(ROOT, 'fixtures', 'rust-mesh', 'build.mjs')], { encoding: 'utf8', timeout: 25 * 60_000 })
  if (r.status === 3) return r.stderr.trim()
  assert.equal(r.status, 0, `building fixtures/rust-mesh failed:\n${r.stderr}`)
  return false
}
const SKIP = buildOrSkip()
if (SKIP) process.stderr.write(`NOTE: skipping the Rust mesh tests: ${SKIP}\n`)

interface RustMesh {
  proc: Proc
  pids: number[]
  stats(): Map<number, { connects: number; handshakes: number; accepted: number; tx: number }>
}

async function startRustMesh(mode: string, flameDir?: string): Promise<RustMesh> {
  const proc = start(process.execPath, [MESH, '--nodes', String(NODES), '--mode', mode, '--duration', '120', '--quiet', ...(flameDir ? ['--flame-dir', flameDir] : [])])
  const info = await waitFor(() => {
    const line = proc.stdout().split('\n').find((l) => l.startsWith('{"mesh"'))
    if (!line && proc.child.exitCode !== null) throw new Error(`mesh.mjs exited: ${proc.stderr()}`)
    return line ? (JSON.parse(line).mesh as { pids: number[] }) : undefined
  }, 60000, `the ${mode} Rust mesh to come up`)
  return {
    proc,
    pids: info.pids,
    stats() {
      const m = new Map()
      for (const l of proc.stdout().split('\n')) {
        if (!l.startsWith('{"stat"')) continue
        try { const s = JSON.parse(l).stat; m.set(s.index, s) } catch { /* partial line */ }
      }
      return m
    },
  }
}

/** Closing stdin ends the mesh; its nodes flush their tracing-flame files and exit. */
async function stopRustMesh(m: RustMesh): Promise<void> {
  m.proc.child.stdin!.end()
  m.proc.child.kill('SIGTERM')
  await Promise.race([m.proc.exited, new Promise((r) => setTimeout(r, 8000))])
  await m.proc.kill()
}

describe('Rust tokio + rustls mesh through perf (the incident\'s stack)', { skip: SKIP }, () => {
  const dir = SKIP ? '' : tmp('rust-mesh')
  const STORM = join(dir, 'storm')
  const FIXED = join(dir, 'fixed')
  const USER_PERF = join(dir, 'user-perf.txt')
  let storm: RustMesh
  let fixed: RustMesh
  let stormAnalysis: any
  let fixedAnalysis: any

  before(async () => {
    ;[storm, fixed] = await Promise.all([startRustMesh('connect-storm', dir), startRustMesh('fixed')])
    // storm: every node re-handshakes with its peers every tick; fixed: every node holds its peers
    await waitFor(() => { const s = storm.stats(); return s.size === NODES && [...s.values()].every((x) => x.handshakes >= 3 * (NODES - 1)) }, 30000, 'storm handshakes')
    await waitFor(() => { const s = fixed.stats(); return s.size === NODES && [...s.values()].every((x) => x.handshakes === NODES - 1 && x.accepted === NODES - 1 && x.tx > 0) }, 30000, 'fixed mesh connected')
    // what a user does by hand on one node, beside meshprof's own capture of the same window; at a
    // high rate: the node burns ~0.02 cores, so 999 Hz gives ~80 samples and shares swing by ±6%
    const userRecord = join(dir, 'user.perf.data')
    const user = spawn('perf', ['record', '-F', '2999', '-g', '-p', String(storm.pids[0]), '-o', userRecord, '--', 'sleep', '4'], { stdio: 'ignore' })
    const userDone = new Promise<number | null>((r) => user.on('exit', r))
    const [a, b] = await Promise.all([
      meshprof(['capture', ...storm.pids.map(String), '-d', '4s', '--rate', '1999', '-o', STORM], { timeoutMs: 90000 }),
      meshprof(['capture', ...fixed.pids.map(String), '-d', '4s', '--rate', '1999', '-o', FIXED], { timeoutMs: 90000 }),
    ])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    assert.equal(await userDone, 0, 'perf record by hand')
    const script = spawnSync('perf', ['script', '-i', userRecord], { maxBuffer: 512 << 20 })
    assert.equal(script.status, 0, String(script.stderr))
    writeFileSync(USER_PERF, script.stdout)
    await Promise.all([stopRustMesh(storm), stopRustMesh(fixed)])
    const [sa, fa] = await Promise.all([meshprof(['analyze', STORM, '--json']), meshprof(['analyze', FIXED, '--json'])])
    assert.equal(sa.code, 0, sa.stderr)
    assert.equal(fa.code, 0, fa.stderr)
    stormAnalysis = JSON.parse(sa.stdout)
    fixedAnalysis = JSON.parse(fa.stdout)
  })

  const stormFindings = () => stormAnalysis.findings.filter((f: any) => f.ruleId === 'connect-storm')

  test('storm: every node gets connect-storm HIGH, called from gossip_tick -> join_peers (a tick, by name)', () => {
    const fs = stormFindings()
    assert.equal(new Set(fs.map((f: any) => f.profile)).size, NODES, JSON.stringify(stormAnalysis.findings.map((f: any) => [f.ruleId, f.severity, f.message])))
    for (const f of fs) {
      const detail = `${f.severity} ${f.message}\n${f.evidence.notes.join('\n')}`
      assert.equal(f.severity, 'high', detail)
      assert.match(String(f.evidence.numbers.periodicCaller), /(^|::)gossip_tick -> join_peers$/, detail)
      assert.match(f.evidence.notes.join('\n'), /periodic caller: rust_mesh_node::Node::gossip_tick -> join_peers \(tick, by name/, detail)
      assert.ok(f.evidence.numbers.alreadyConnectedConnects >= 10, detail)
      // the connect work is rustls / tokio-rustls / the node's own connect: never tokio's thread-local ScopedKey
      assert.doesNotMatch(f.message, /ScopedKey|scoped_tls/, detail)
      assert.ok(!f.frames.some((n: string) => /ScopedKey|worker::run/.test(n)), f.frames.join(' | '))
    }
  })

  test('storm: the finding states the mesh-wide cost of the pointless handshakes', () => {
    for (const f of stormFindings()) {
      assert.match(f.evidence.notes.join('\n'), new RegExp(`mesh-wide: ${NODES} nodes x [0-9.]+ cores = [0-9.]+ cores in pointless handshakes`), f.evidence.notes.join('\n'))
    }
  })

  test('storm: top marks rustls/tokio-rustls frames as connect work and tokio\'s ScopedKey<T>::set not', async () => {
    const r = await meshprof(['top', join(STORM, `rust-mesh-node-${storm.pids[0]}.capture.json`), '--json', '--limit', '0'])
    assert.equal(r.code, 0, r.stderr)
    const rows: any[] = JSON.parse(r.stdout).rows
    const scoped = rows.find((x) => x.name === 'tokio::macros::scoped_tls::ScopedKey<T>::set')
    assert.ok(scoped, 'ScopedKey<T>::set is on the stacks')
    assert.equal(scoped.connect, false)
    const hs = rows.filter((x) => /^(<)?(tokio_rustls|rustls)::/.test(x.name))
    assert.ok(hs.length > 0 && hs.every((x) => x.connect), hs.map((x) => `${x.name} ${x.connect}`).join('\n'))
  })

  test('fixed: no finding above info on any node', () => {
    const above = fixedAnalysis.findings.filter((f: any) => f.severity !== 'info')
    assert.deepEqual(above.map((f: any) => `${f.ruleId} ${f.severity} ${f.message}`), [])
    assert.equal(fixedAnalysis.profiles.length, NODES)
  })

  test('diff storm -> fixed: the headline names handshake/connect frames first, and the storm is resolved', async () => {
    const r = await meshprof(['diff', STORM, FIXED])
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.split('\n')
    const cpu = lines.findIndex((l) => /^CPU/.test(l))
    assert.ok(cpu >= 0, r.stdout)
    const movers = lines.slice(cpu + 1, cpu + 4)
    for (const m of movers) assert.match(m.split(' (total)')[0]!.trim(), HANDSHAKE, `headline:\n${movers.join('\n')}`)
    for (const m of movers) assert.doesNotMatch(m, /tokio-runtime-w|ScopedKey|worker::run|Core<T,S>::poll|start_thread|gossip_tick|main::/, `headline:\n${movers.join('\n')}`)
    assert.match(r.stdout, /^resolved: connect-storm \(HIGH\)/m, r.stdout)
    const j = JSON.parse((await meshprof(['diff', STORM, FIXED, '--json'])).stdout)
    assert.ok(j.cpu.change < -0.3, `CPU change ${j.cpu.change}`)
  })

  test('the perf script file a user brings gives the same finding', async () => {
    assert.ok(statSync(USER_PERF).size > 0)
    const r = await meshprof(['analyze', USER_PERF, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [f] = JSON.parse(r.stdout).findings.filter((x: any) => x.ruleId === 'connect-storm')
    assert.ok(f, r.stdout)
    const detail = `${f.severity} ${f.message}\n${f.evidence.notes.join('\n')}`
    assert.equal(f.severity, 'high', detail)
    assert.match(String(f.evidence.numbers.periodicCaller), /(^|::)gossip_tick -> join_peers$/, detail)
    assert.equal(f.evidence.numbers.networkEvidence, 'no')
  })

  test('a tracing-flame folded file of the same program gives the same finding', async () => {
    const file = join(dir, 'rust-node-0.folded')
    assert.ok(existsSync(file) && statSync(file).size > 0, 'the storm node wrote its spans')
    const first = readFileSync(file, 'utf8').split('\n')[0]!
    assert.match(first, /^ThreadId\(\d+\)-tokio-runtime-worker;rust_mesh_node::\w+(;rust_mesh_node::\w+)* \d+$/)
    const r = await meshprof(['analyze', file, '--json', '--verbose'])
    assert.equal(r.code, 0, r.stderr)
    const [f] = JSON.parse(r.stdout).findings.filter((x: any) => x.ruleId === 'connect-storm')
    assert.ok(f, r.stdout)
    const detail = `${f.severity} ${f.message}\n${f.evidence.notes.join('\n')}`
    assert.equal(f.severity, 'high', detail)
    assert.equal(f.evidence.numbers.periodicCaller, 'rust_mesh_node::gossip_tick -> join_peers', detail)
  })
})
