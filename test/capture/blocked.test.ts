// Capture never comes back empty: a main thread stuck in synchronous JavaScript (its event loop never
// turns) is profiled through the inspector's Profiler domain, by `capture` and by `run -d`; an
// asynchronous busy-wait (the loop turns) still yields network evidence. Real processes throughout.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { alive, cliStartupMs, filesIn, killAll, listenPortsOf, meshprof, readJson, script, socketFds, start, startMesh, tmp, waitFor, withPort9229, SPIN_JS, type Mesh } from './helpers.js'
import { BIN } from '../helpers/cli.js'
import { loadProfiles } from '../../src/formats/index.js'

after(killAll)

/** user+system CPU ticks of a pid. */
function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ')
  return Number(f[11]) + Number(f[12])
}

async function topRows(file: string, sort = 'self'): Promise<Array<{ name: string; self: number }>> {
  const t = await meshprof(['top', file, '--json', '--sort', sort])
  assert.equal(t.code, 0, t.stderr)
  return JSON.parse(t.stdout).rows
}

describe('a main thread stuck in synchronous JavaScript, through the inspector', () => {
  const dir = tmp('spin')
  const out = join(dir, 'cap')
  const D = 2000
  let p: ReturnType<typeof start>
  let r: Awaited<ReturnType<typeof meshprof>>
  let sockets0: string[] = []
  let startup = 0

  before(async () => {
    p = start(process.execPath, [script(dir, 'spin.js', SPIN_JS)])
    await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
    sockets0 = socketFds(p.pid)
    startup = await cliStartupMs()
    r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', `${D}ms`, '-o', out, '--json']))
  })
  after(async () => { await p?.kill() })

  test('the CPU profile is captured with the hot function on top, within the window + 2 s', async () => {
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout)
    // The capture itself (attach, window, collection through the inspector, files) within the window + 2 s.
    assert.ok(j.elapsedMs <= D + 2000, `capture took ${j.elapsedMs} ms`)
    // The whole command also loads, ranks and analyses the result: about one more start-up's worth.
    const budget = D + 2000 + 2 * startup
    assert.ok(r.ms <= budget, `took ${r.ms} ms; budget ${budget} ms (cli start-up ${startup} ms)`)
    assert.equal(j.captures.length, 1)
    assert.equal(j.captures[0].ok, true)
    assert.equal(j.captures[0].backend, 'inspector')
    const capFile = j.captures[0].captureFile
    const cap = readJson(capFile)
    assert.equal(cap.profile.format, 'cpuprofile')
    const prof = readJson(join(out, cap.profile.file))
    assert.ok(prof.samples.length > 100, `${prof.samples.length} samples`)
    const rows = await topRows(capFile)
    assert.match(rows[0]!.name, /^spinHot\b/, JSON.stringify(rows.slice(0, 3)))
  })

  test('says the event loop was blocked for the whole window, in the summary, the capture file and the model meta', async () => {
    const j = JSON.parse(r.stdout)
    const c = j.captures[0]
    assert.equal(c.eventLoopBlocked, true)
    assert.ok(c.warnings.some((w: string) => w.startsWith('event loop blocked for the whole window: no network evidence')), c.warnings.join('; '))
    assert.match(r.stderr, /event loop is blocked/)
    const cap = readJson(c.captureFile)
    assert.equal(cap.process.eventLoopBlocked, true)
    assert.equal(cap.process.partial, false)
    assert.equal(cap.network, undefined, 'no network evidence rather than a misleading zero')
    const { profiles } = await loadProfiles(c.captureFile)
    assert.equal(profiles[0]!.meta.eventLoopBlocked, true)
  })

  test('the target is unharmed: alive, still spinning, no inspector port or probe socket left', async () => {
    assert.ok(alive(p.pid))
    assert.deepEqual(listenPortsOf(p.pid), [])
    assert.deepEqual(socketFds(p.pid), sockets0)
    const c0 = cpuTicks(p.pid)
    await waitFor(() => cpuTicks(p.pid) > c0 + 5, 10000, 'the target to keep burning CPU')
  })
})

describe('meshprof run -d on a command whose main thread never yields', () => {
  test('the window is written with the hot function on top, and the command keeps running', async () => {
    const dir = tmp('runspin')
    const out = join(dir, 'cap')
    const m = start(process.execPath, [BIN, 'run', '-d', '2s', '-o', out, '--json', '--', process.execPath, script(dir, 'spin.js', SPIN_JS)], { env: { NO_COLOR: '1' } })
    try {
      await waitFor(() => /the window ended; .* keeps running/.test(m.stderr()), 30000, 'the window to end')
      const j = JSON.parse(m.stdout().slice(m.stdout().indexOf('{')))
      assert.equal(j.meshprof, 'run')
      assert.equal(j.captures.length, 1)
      const c = j.captures[0]
      assert.equal(c.ok, true)
      assert.equal(c.eventLoopBlocked, true)
      assert.ok(c.durationMs >= 1900, `window ${c.durationMs} ms`)
      const rows = await topRows(c.captureFile)
      assert.match(rows[0]!.name, /^spinHot\b/, JSON.stringify(rows.slice(0, 3)))
      // not killed: still alive after the summary, and its inspector port is closed again
      assert.ok(alive(c.pid), 'the command is still running')
      assert.deepEqual(listenPortsOf(c.pid), [])
      assert.equal(m.child.exitCode, null, 'meshprof waits for the command')
      process.kill(c.pid, 'SIGKILL')
      const e = await m.exited
      assert.equal(e.code, 0, m.stderr())
    } finally {
      await m.kill()
    }
  })

  test('--stop stops it at the end of the window', async () => {
    const dir = tmp('runstop')
    const r = await meshprof(['run', '-d', '1s', '--stop', '-o', join(dir, 'cap'), '--json', '--', process.execPath, script(dir, 'spin.js', SPIN_JS)], { timeoutMs: 30000 })
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))
    assert.equal(j.captures[0].eventLoopBlocked, true)
    assert.ok(!alive(j.captures[0].pid), 'the command was stopped')
  })
})

describe('an asynchronous busy-wait (mesh busy-wait mode): the loop turns', () => {
  let mesh: Mesh
  let r: Awaited<ReturnType<typeof meshprof>>
  const out = join(tmp('bw'), 'cap')

  before(async () => {
    mesh = await startMesh(2, 'busy-wait', ['--title-prefix', `mpb${process.pid}-`])
    r = await withPort9229(() => meshprof(['capture', String(mesh.pids[0]), '-d', '2s', '-o', out, '--json']))
  })
  after(async () => { await mesh?.stop() })

  test('captured with network evidence and the polling loop on top', async () => {
    assert.equal(r.code, 0, r.stderr)
    const c = JSON.parse(r.stdout).captures[0]
    assert.equal(c.eventLoopBlocked, undefined)
    const cap = readJson(c.captureFile)
    assert.equal(cap.process.eventLoopBlocked, undefined)
    assert.equal(cap.network.source, 'node-probe')
    assert.ok(cap.network.snapshots.length >= 2, `${cap.network.snapshots.length} snapshots`)
    const peer = `127.0.0.1:${mesh.ports[1]}`
    assert.ok(cap.network.snapshots.every((s: { remotes: string[] }) => s.remotes.includes(peer)), JSON.stringify(cap.network.snapshots))
    assert.ok(!cap.warnings.some((w: string) => /event loop blocked/.test(w)), cap.warnings.join('; '))
    const a = await meshprof(['analyze', c.captureFile, '--json'])
    assert.equal(a.code, 0, a.stderr)
    assert.match(a.stdout, /"busy-wait"/, 'the busy-wait rule fires on the async re-poll loop')
    assert.ok(filesIn(out).length >= 3)
  })
})
