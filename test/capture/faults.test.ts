// Faults during a capture, each against real processes: the target SIGSTOPped mid-window, killed
// mid-window (its event loop blocked), an unwritable output directory (refused before the window),
// two captures of one pid at once, and the sockets dropped mid-window. In each: the target unharmed
// (unless killed), partial data kept, no inspector port or probe socket left open.
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { alive, filesIn, killAll, listenPortsOf, meshprof, readJson, script, sleep, socketFds, start, tmp, waitFor, withPort9229, BUSY_JS, SPIN_JS } from './helpers.js'
import { BIN, isCleanFailure } from '../helpers/cli.js'

after(killAll)

/** meshprof as a tracked process, so a test can act while its window is open. */
function meshprofLive(args: string[]) {
  const t0 = Date.now()
  const p = start(process.execPath, [BIN, ...args], { env: { NO_COLOR: '1' } })
  p.child.stdin!.end()
  return { p, done: p.exited.then((e) => ({ ...e, stdout: p.stdout(), stderr: p.stderr(), ms: Date.now() - t0 })) }
}

/** Capture pid for `duration`; `during` runs once the window is open (the 9229 lock held). */
async function captureWhile(pid: number, out: string, duration: string, during: () => Promise<void>) {
  return withPort9229(async () => {
    const m = meshprofLive(['capture', String(pid), '-d', duration, '-o', out])
    await waitFor(() => /capturing 1 process/.test(m.p.stderr()), 20000, 'the window to open')
    await during()
    return m.done
  })
}

function captureFileIn(dir: string): any {
  const f = filesIn(dir).find((x) => x.endsWith('.capture.json'))
  assert.ok(f, `no capture file in ${dir}: ${filesIn(dir).join(' ')}`)
  return readJson(join(dir, f))
}

describe('faults during the window', () => {
  test('target SIGSTOPped mid-window: the capture returns, keeps the network evidence, sends it nothing; it resumes unharmed', async () => {
    const dir = tmp('sigstop')
    const p = start(process.execPath, [script(dir, 'busy.js', `${BUSY_JS}\nsetInterval(() => process.stdout.write('tick\\n'), 50)\n`)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const sockets0 = socketFds(p.pid)
      const r = await captureWhile(p.pid, join(dir, 'cap'), '3s', async () => {
        await sleep(800)
        process.kill(p.pid, 'SIGSTOP')
      })
      assert.equal(r.code, 5, r.stderr)
      assert.ok(isCleanFailure(r as never) || /partial capture kept/.test(r.stderr), r.stderr)
      assert.match(r.stderr, new RegExp(`pid ${p.pid} \\(node\\) is stopped`))
      assert.ok(r.ms < 3000 + 8000, `took ${r.ms} ms`)
      const cap = captureFileIn(join(dir, 'cap'))
      assert.equal(cap.process.partial, true)
      assert.ok(cap.warnings.some((w: string) => /is stopped \(SIGSTOP/.test(w)), cap.warnings.join('; '))
      assert.ok(cap.network.snapshots.length >= 1, 'network evidence up to the stop is kept')
      // resume: nothing was sent while it was stopped, so no inspector opens now
      process.kill(p.pid, 'SIGCONT')
      const ticks = p.stdout().split('tick').length
      await waitFor(() => p.stdout().split('tick').length > ticks + 5, 10000, 'the target to tick again')
      assert.ok(alive(p.pid))
      assert.deepEqual(listenPortsOf(p.pid), [])
      assert.doesNotMatch(p.stderr().split('Debugger attached.').pop()!, /Debugger listening/, 'no inspector opened after the resume')
      await waitFor(() => socketFds(p.pid).join() === sockets0.join(), 10000, 'the probe socket to be closed after the resume')
    } finally {
      process.kill(p.pid, 'SIGCONT')
      await p.kill()
    }
  })

  test('target with a blocked loop killed mid-window: partial capture written, clear line', async () => {
    const dir = tmp('killspin')
    const p = start(process.execPath, [script(dir, 'spin.js', SPIN_JS)])
    await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
    const r = await captureWhile(p.pid, join(dir, 'cap'), '3s', async () => {
      await sleep(500)
      p.child.kill('SIGKILL')
    })
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, new RegExp(`pid ${p.pid} \\(node\\) exited .*partial capture kept`))
    assert.ok(r.ms < 3000 + 6000, `took ${r.ms} ms: the window ends when its only target is gone`)
    const cap = captureFileIn(join(dir, 'cap'))
    assert.equal(cap.process.partial, true)
    assert.equal(cap.profile, undefined)
  })

  test('output directory not writable: exit 3 before the window, the target is never signalled', async () => {
    const dir = tmp('unwritable')
    const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      // a regular file where a directory is needed: not writable for root either
      writeFileSync(join(dir, 'file'), 'x')
      const r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', '10s', '-o', join(dir, 'file', 'cap')]))
      assert.equal(r.code, 3, r.stderr)
      assert.ok(isCleanFailure(r as never), r.stderr)
      assert.match(r.stderr, /cannot write to .*file\/cap/)
      assert.ok(r.ms < 10000, `took ${r.ms} ms: refused before the 10 s window`)
      assert.doesNotMatch(p.stderr(), /Debugger listening/)
      assert.ok(alive(p.pid))
      // run: the command is not even started
      const marker = join(dir, 'started')
      const rr = await meshprof(['run', '-d', '5s', '-o', join(dir, 'file', 'cap'), '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`])
      assert.equal(rr.code, 3, rr.stderr)
      assert.ok(isCleanFailure(rr as never), rr.stderr)
      assert.ok(!existsSync(marker), 'the command did not run')
    } finally {
      await p.kill()
    }
  })

  test('two captures of one pid at once: the second says so, the first completes', async () => {
    const dir = tmp('twice')
    const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const sockets0 = socketFds(p.pid)
      const [first, second] = await withPort9229(async () => {
        const a = meshprofLive(['capture', String(p.pid), '-d', '4s', '-o', join(dir, 'first')])
        await waitFor(() => /capturing 1 process/.test(a.p.stderr()), 20000, 'the first window to open')
        const b = await meshprof(['capture', String(p.pid), '-d', '1s', '-o', join(dir, 'second')])
        return [await a.done, b]
      })
      assert.equal(second.code, 5, second.stderr)
      assert.ok(isCleanFailure(second as never), second.stderr)
      assert.match(second.stderr, /another meshprof capture is already running in this process/)
      assert.equal(first.code, 0, first.stderr)
      const cap = captureFileIn(join(dir, 'first'))
      assert.equal(cap.process.partial, false)
      assert.ok(cap.process.durationMs > 3500, `${cap.process.durationMs} ms`)
      assert.ok(readJson(join(dir, 'first', cap.profile.file)).samples.length > 50)
      assert.ok(alive(p.pid))
      assert.deepEqual(listenPortsOf(p.pid), [])
      await waitFor(() => socketFds(p.pid).join() === sockets0.join(), 5000, 'no probe socket left')
    } finally {
      await p.kill()
    }
  })

  test('sockets dropped mid-window (the app closes the probe socket and its inspector): data up to then collected through the inspector', async () => {
    const dir = tmp('drop')
    // The app wraps connect (as APMs do) and, on "drop", destroys the probe's socket and closes its inspector.
    const js = script(dir, 'drop.js', `
const net = require('net')
const inspector = require('inspector')
const seen = []
const orig = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0] // net.connect() passes its normalised [options, cb]
  if (o && typeof o === 'object' && typeof o.path === 'string' && o.path.includes('meshprof-')) seen.push(this)
  return orig.apply(this, args)
}
function work() { let x = 0; for (let i = 0; i < 2e5; i++) x += Math.sqrt(i); return x }
setInterval(work, 10)
setInterval(() => process.stdout.write('tick\\n'), 50)
process.stdin.on('data', () => { for (const s of seen) s.destroy(); inspector.close(); process.stdout.write('dropped ' + seen.length + '\\n') })
process.stdout.write('ready ' + process.pid + '\\n')
`)
    const p = start(process.execPath, [js])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const sockets0 = socketFds(p.pid)
      const r = await captureWhile(p.pid, join(dir, 'cap'), '3s', async () => {
        await sleep(1000)
        p.child.stdin!.write('drop\n')
        await waitFor(() => /dropped 1/.test(p.stdout()), 10000, 'the app to drop the probe socket')
      })
      assert.equal(r.code, 5, r.stderr)
      assert.match(r.stderr, /dropped .* collected through the inspector: partial capture kept/)
      const cap = captureFileIn(join(dir, 'cap'))
      assert.equal(cap.process.partial, true)
      assert.ok(cap.profile, 'the CPU profile up to the drop was kept')
      const prof = readJson(join(dir, 'cap', cap.profile.file))
      assert.ok(prof.samples.length > 20, `${prof.samples.length} samples`)
      assert.ok(cap.process.durationMs > 500 && cap.process.durationMs < 2900, `window ended at the drop: ${cap.process.durationMs} ms`)
      assert.ok(cap.network.snapshots.length >= 1)
      const ticks = p.stdout().split('tick').length
      await waitFor(() => p.stdout().split('tick').length > ticks + 3, 10000, 'the target to keep ticking')
      assert.deepEqual(listenPortsOf(p.pid), [])
      await waitFor(() => socketFds(p.pid).join() === sockets0.join(), 5000, 'no probe socket left')
    } finally {
      await p.kill()
    }
  })
})
