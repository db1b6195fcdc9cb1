// REAL captures of the fixture mesh (fixtures/mesh/mesh.js, real TLS on 127.0.0.1), one mode at a
// time: each bug mode is flagged with its rule, `healthy` has no finding of medium or above, and the
// native C connect storm is flagged through perf. Processes are started here and killed by pid.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, runCli } from '../helpers/cli.js'
import { MESH, startMesh, until, cpuTicks, waitSpinning, perfReady, capture as captureTo } from '../helpers/mesh.js'
import { loadProfiles } from '../../src/formats/index.js'
import { analyzeProfileDetailed } from '../../src/analyze/index.js'

const NATIVE_SRC = join(ROOT, 'fixtures', 'mesh', 'native', 'connect-storm.c')
const CAPTURE_CMD = join(ROOT, 'dist', 'src', 'cli', 'commands', 'capture.js')
const MESH_SKIP = existsSync(MESH) && existsSync(CAPTURE_CMD) ? false : 'fixtures/mesh/mesh.js or the capture command is missing; skipping'
if (MESH_SKIP) process.stderr.write(`NOTE: ${MESH_SKIP}\n`)

const work = mkdtempSync(join(tmpdir(), 'meshprof-modes-'))
const rank = { high: 3, medium: 2, low: 1, info: 0 } as Record<string, number>

async function analyzeJson(...dirs: string[]): Promise<any> {
  const a = await runCli(['analyze', ...dirs, '--json'], { timeoutMs: 60000 })
  assert.equal(a.code, 0, a.stderr)
  return JSON.parse(a.stdout)
}

function findingsOf(report: any, profile: number, rule?: string): any[] {
  return report.findings.filter((f: any) => f.profile === profile && (rule === undefined || f.ruleId === rule))
}

/** On failure: what the rule saw with its gates opened, so a flaky run explains itself. */
async function diagnose(dir: string, relaxed: Record<string, number>): Promise<string> {
  const { readdirSync } = await import('node:fs')
  const files = readdirSync(dir).includes('mesh.json') ? ['mesh.json'] : readdirSync(dir).filter((f) => f.endsWith('.capture.json'))
  const profiles = (await Promise.all(files.map(async (f) => (await loadProfiles(join(dir, f))).profiles))).flat()
  return profiles.map((p) => `${p.meta.name}: ${JSON.stringify(analyzeProfileDetailed(p, { thresholds: relaxed }).findings.map((f) => [f.ruleId, f.evidence.numbers]))}`).join('\n')
}

function summary(report: any): string {
  return report.findings.map((f: any) => `[${f.profile}] ${f.severity} ${f.ruleId}: ${f.message}`).join('\n')
}

test('healthy mesh: no finding of medium severity or above; --fail-on medium exits 0', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('healthy', 3)
  try {
    // the first connections are set up right after start: capture the steady state after them
    await until(() => mesh.stats.size === 3 && [...mesh.stats.values()].every((s) => s.handshakes >= 2), 'every healthy node to finish its handshakes')
    const dir = await captureTo(work, mesh.pids, '3s', 'healthy')
    const r = await analyzeJson(dir)
    assert.equal(r.profiles.length, 3)
    assert.ok(r.profiles.every((p: any) => p.networkEvidence), 'capture recorded network evidence')
    assert.deepEqual(r.findings.filter((f: any) => rank[f.severity]! >= rank.medium!).map((f: any) => f.ruleId), [], summary(r))
    const gate = await runCli(['analyze', dir, '--fail-on', 'medium'])
    assert.equal(gate.code, 0, gate.stdout + gate.stderr)
  } finally {
    await mesh.stop()
  }
})

test('connect-storm mesh: connect-storm on every node, caller named from the initiator stacks; --fail-on medium exits 1', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('connect-storm', 3)
  try {
    const dir = await captureTo(work, mesh.pids, '3s', 'storm')
    const r = await analyzeJson(dir)
    assert.equal(r.profiles.length, 3)
    for (const p of r.profiles) {
      const [f] = findingsOf(r, p.index, 'connect-storm')
      assert.ok(f, `node ${p.name} not flagged:\n${summary(r)}`)
      // connects to already-connected peers at tick rate, most of the node's CPU: HIGH, whatever the
      // node's absolute CPU (issue 15), and the mesh-wide cost is stated
      assert.equal(f.severity, 'high', `${p.name}: ${f.severity} ${f.message}\n${f.evidence.notes.join('\n')}`)
      assert.equal(f.evidence.numbers.tickRate, 'yes')
      assert.match(f.evidence.notes.join('\n'), /mesh-wide: 3 nodes x \d\.\d+ cores = \d\.\d+ cores in pointless handshakes/)
      assert.ok(f.cpuCores <= p.cores + 0.001, `${f.cpuCores} cores of connect work > the process's ${p.cores}`)
      assert.equal(f.evidence.numbers.networkEvidence, 'yes')
      assert.ok(f.evidence.numbers.alreadyConnectedConnects >= 10, JSON.stringify(f.evidence.numbers))
      assert.equal(f.evidence.numbers.periodicSource, 'initiator-stacks')
      assert.match(String(f.evidence.numbers.periodicCaller), /runGossip -> joinPeers/)
      assert.match(f.evidence.notes.join('\n'), /already had an established connection/)
    }
    const gate = await runCli(['analyze', dir, '--fail-on', 'medium'])
    assert.equal(gate.code, 1, gate.stderr)
    assert.match(gate.stdout, /connect-storm/)
  } finally {
    await mesh.stop()
  }
})

test('fixed mesh at 18 nodes (each connection recycled make-before-break every 3 s): no finding above info', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('fixed', 18)
  try {
    // every node connected to its 17 peers before the window (18 x 17 handshakes on 2 cores)
    await until(() => mesh.stats.size === 18 && [...mesh.stats.values()].every((s) => s.handshakes >= 17), 'all 18 fixed nodes to connect to their peers', 90000)
    const dir = await captureTo(work, mesh.pids, '2s', 'fixed18')
    const r = await analyzeJson(dir)
    assert.equal(r.profiles.length, 18)
    assert.deepEqual(r.findings.filter((f: any) => rank[f.severity]! > rank.info!).map((f: any) => `[${f.profile}] ${f.severity} ${f.ruleId}`), [], summary(r))
    // the window did see the recycling: connects to peers that were already connected
    const { readdirSync } = await import('node:fs')
    const recycled = readdirSync(dir).filter((f) => f.endsWith('.capture.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).network?.connects?.length ?? 0)
    assert.ok(recycled.filter((n) => n > 0).length >= 9, `recycling connects per node: ${recycled.join(',')}`)
    const gate = await runCli(['analyze', dir, '--fail-on', 'low'])
    assert.equal(gate.code, 0, gate.stdout)
    process.stderr.write(`fixed mesh 18 nodes: connects per node in 2 s ${recycled.join(',')}; ${r.summary.info} info notes\n`)
  } finally {
    await mesh.stop()
  }
})

test('busy-wait mesh: busy-wait (high) on every node, the re-poll loop named', { skip: MESH_SKIP }, async () => {
  // One node: two spinning nodes plus meshprof oversubscribe this 2-core machine, and a node that
  // cannot get its core shows scheduler waits that look like blocking.
  const mesh = await startMesh('busy-wait', 1)
  try {
    // Condition, not a sleep: wait until the node is actually spinning (start-up and JIT warm-up done).
    await waitSpinning(mesh.pids[0]!)
    const dir = await captureTo(work, mesh.pids, '3s', 'busy')
    const r = await analyzeJson(dir)
    for (const p of r.profiles) {
      const [f] = findingsOf(r, p.index, 'busy-wait')
      if (!f) {
        const why = await diagnose(dir, { 'busy-wait.minCores': 0, 'busy-wait.maxBlockingShare': 1, 'busy-wait.minBusySlices': 0, 'busy-wait.minPathShare': 0.3 })
        assert.fail(`node ${p.name} not flagged:\n${summary(r)}\n${JSON.stringify(p.skipped)}\nwith the gates open:\n${why}`)
      }
      assert.equal(f.severity, 'high')
      assert.match(f.message, /processImmediate|selectLoop/)
      assert.equal(f.evidence.numbers.repollFrame, 'processImmediate')
    }
  } finally {
    await mesh.stop()
  }
})

test('ghost-connections mesh: connections per peer grow over the window on every node', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('ghost-connections', 3)
  try {
    const dir = await captureTo(work, mesh.pids, '3s', 'ghost')
    const r = await analyzeJson(dir)
    for (const p of r.profiles) {
      const [f] = findingsOf(r, p.index, 'ghost-connections')
      assert.ok(f, `node ${p.name} not flagged:\n${summary(r)}`)
      assert.ok(rank[f.severity]! >= rank.medium!)
      assert.ok(f.evidence.numbers.growth >= 2, JSON.stringify(f.evidence.numbers))
      assert.ok(f.evidence.numbers.snapshots >= 2)
    }
    // the healthy-mode rule must not mistake it for a storm of medium+ severity
    assert.ok(r.findings.filter((f: any) => f.ruleId === 'connect-storm').every((f: any) => rank[f.severity]! <= rank.low!), summary(r))
  } finally {
    await mesh.stop()
  }
})

test('span-leak mesh: telemetry cost grows between two captures of the same nodes', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('span-leak', 2)
  try {
    // start after the first handshakes (they are connection setup, not the leak)
    await until(() => mesh.stats.size === 2 && [...mesh.stats.values()].every((s) => s.handshakes >= 1), 'the span-leak nodes to finish their handshakes')
    const a = await captureTo(work, mesh.pids, '3s', 'span-a')
    // the leak grows with uptime: let the root span collect events, then capture again
    const t0 = Date.now()
    await until(() => Date.now() - t0 >= 6000 && [...mesh.stats.values()].every((s) => s.t > t0 + 6000), 'six more seconds of uptime', 20000)
    const b = await captureTo(work, mesh.pids, '3s', 'span-b')
    const r = await analyzeJson(a, b)
    const cross = r.findings.filter((f: any) => f.profile === null && f.ruleId === 'telemetry-growth')
    assert.equal(cross.length, 2, summary(r))
    for (const f of cross) {
      assert.ok(rank[f.severity]! >= rank.low!)
      assert.ok(f.frames.some((x: string) => /exportSpans|serializeEvent|exportTick/.test(x)), f.frames.join())
      assert.ok(f.evidence.numbers.lastCaptureShare > f.evidence.numbers.firstCaptureShare * 1.5, JSON.stringify(f.evidence.numbers))
      process.stderr.write(`span-leak two captures: ${f.severity} ${JSON.stringify(f.evidence.numbers)}\n`)
    }
    // the per-window telemetry-growth findings are covered by the one-window test below; here only the
    // cross-capture comparison is asserted, and no other rule may claim anything medium+
    assert.ok(r.findings.filter((f: any) => f.profile !== null).every((f: any) => rank[f.severity]! < rank.medium! || f.ruleId === 'telemetry-growth'), summary(r))
  } finally {
    await mesh.stop()
  }
})

test('span-leak mesh: telemetry-growth (medium+) within ONE capture window on every node, nodes keep serving', { skip: MESH_SKIP }, async () => {
  const mesh = await startMesh('span-leak', 2)
  try {
    // Start right after the first handshakes: the exporter's cost grows linearly with uptime from
    // here (fixtures/mesh/node.js), so a capture started early sees its share rise inside the window;
    // one started many seconds later would see a flatter ratio (and the capped plateau after ~13 s).
    await until(() => mesh.stats.size === 2 && [...mesh.stats.values()].every((s) => s.handshakes >= 1), 'the span-leak nodes to finish their handshakes')
    const rx0 = mesh.pids.map((_, i) => mesh.stats.get(i)?.rx ?? 0)
    const cpu0 = mesh.pids.map(cpuTicks)
    const w0 = Date.now()
    const dir = await captureTo(work, mesh.pids, '4s', 'span-one')
    const cores = mesh.pids.map((pid, i) => ((cpuTicks(pid) - cpu0[i]!) * 10) / (Date.now() - w0))
    // still gossiping (10 lines/s from its one peer) and well under a core while leaking
    const t1 = Date.now()
    await until(() => [...mesh.stats.values()].every((s) => s.t > t1), 'a fresh stat line from every node')
    mesh.pids.forEach((_, i) => assert.ok((mesh.stats.get(i)?.rx ?? 0) - rx0[i]! >= 20, `node ${i} stopped serving its peer: rx ${rx0[i]} -> ${mesh.stats.get(i)?.rx}`))
    assert.ok(cores.every((c) => c < 0.6), `a span-leak node used too much CPU during the capture: ${cores.map((c) => c.toFixed(2)).join(', ')} cores`)
    const r = await analyzeJson(dir)
    assert.equal(r.profiles.length, 2)
    for (const p of r.profiles) {
      const [f] = findingsOf(r, p.index, 'telemetry-growth')
      if (!f || !(rank[f.severity]! >= rank.medium!)) {
        const why = await diagnose(dir, { 'telemetry-growth.minZ': 0, 'telemetry-growth.minGrowth': 1, 'telemetry-growth.minIncrease': 0, 'telemetry-growth.minLastShare': 0 })
        assert.fail(`node ${p.name}: telemetry-growth ${f ? `${f.severity}: ${f.message}` : 'not flagged'}\n${summary(r)}\n${JSON.stringify(p.skipped)}\nwith the gates open:\n${why}`)
      }
      assert.ok(f.frames.some((x: string) => /exportSpans|serializeEvent|exportTick/.test(x)), f.frames.join())
      const n = f.evidence.numbers
      assert.ok(n.lastThirdShare >= n.firstThirdShare * 1.5, JSON.stringify(n))
      assert.ok(n.z >= 3, JSON.stringify(n))
      process.stderr.write(`span-leak one window ${p.name}: first/middle/last third ${n.firstThirdShare}/${n.middleThirdShare}/${n.lastThirdShare} z=${n.z} rows=${n.rowsPerThird} ${f.severity}; cores ${cores.map((c) => c.toFixed(2)).join(',')}\n`)
    }
    // the leak is telemetry, nothing else: no other rule may claim anything medium+
    assert.ok(r.findings.every((f: any) => rank[f.severity]! < rank.medium! || f.ruleId === 'telemetry-growth'), summary(r))
  } finally {
    await mesh.stop()
  }
})

const perfOk = perfReady()
const NATIVE_SKIP = MESH_SKIP || !existsSync(NATIVE_SRC) ? 'native fixture missing' : perfOk === true ? false : `${perfOk}; skipping the native connect storm`

test('native C connect storm through perf: connect-storm flagged', { skip: NATIVE_SKIP }, async () => {
  const bin = join(work, 'connect-storm')
  const cc = spawnSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', bin, NATIVE_SRC], { encoding: 'utf8' })
  assert.equal(cc.status, 0, cc.stderr)
  const proc = spawn(bin, ['5', '60'], { stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = ''
      const t = setTimeout(() => reject(new Error('native storm did not print READY')), 10000)
      proc.stdout!.on('data', (d) => {
        out += d
        const m = /READY (\d+)/.exec(out)
        if (m) { clearTimeout(t); resolve(Number(m[1])) }
      })
      proc.on('exit', (c) => reject(new Error(`native storm exited ${c}`)))
    })
    const dir = await captureTo(work, [pid], '3s', 'native')
    const r = await analyzeJson(dir)
    const [f] = findingsOf(r, 0, 'connect-storm')
    assert.ok(f, summary(r))
    assert.ok(rank[f.severity]! >= rank.medium!, `${f.severity} ${f.message}`)
    assert.match(f.message, /join_peers|connect_peer|do_handshake/)
    assert.match(String(f.evidence.numbers.periodicCaller), /run_gossip/, JSON.stringify(f.evidence, null, 1))
    assert.equal(f.evidence.numbers.networkEvidence, 'yes')
    assert.ok(f.evidence.numbers.alreadyConnectedConnects > 0, JSON.stringify(f.evidence.numbers))
  } finally {
    proc.kill('SIGKILL')
  }
})

test.after(() => rmSync(work, { recursive: true, force: true }))
