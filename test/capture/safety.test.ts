// Faults and safety, each against real processes: no such pid, another user's process, a non-Node
// process with perf missing, a target that handles SIGUSR1 itself, port 9229 already taken (by a
// Node inspector and by a plain listener), targets that exit or die mid-window.
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { alive, cliStartupMs, filesIn, killAll, listenPortsOf, meshprof, readJson, script, sleep, start, tmp, waitFor, withPort9229, worldReadableCli, BUSY_JS } from './helpers.js'
import { isCleanFailure, ROOT, BIN } from '../helpers/cli.js'

after(killAll)

const clean = (r: { stderr: string }) => isCleanFailure(r as never)

describe('permissions and non-Node targets', () => {
  test('a pid that does not exist: exit 5, one line', async () => {
    const gone = start(process.execPath, ['-e', '0'])
    await gone.exited
    const r = await meshprof(['capture', String(gone.pid), '-d', '1s', '-o', join(tmp('nopid'), 'cap')])
    assert.equal(r.code, 5)
    assert.ok(clean(r), r.stderr)
    assert.match(r.stderr, new RegExp(`no process with pid ${gone.pid}`))
  })

  test('another user\'s process without permission: exit 5, target untouched', { skip: process.getuid?.() !== 0 ? 'needs root to drop to nobody' : false }, async () => {
    const dir = tmp('perm')
    const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      // meshprof as nobody against a root-owned Node process; nobody runs a copy it can read, wherever
      // the checkout lives (under /root, in a 0700 folder)
      const bin = worldReadableCli()
      const r = await meshprof(['capture', String(p.pid), '-d', '1s', '-o', '/tmp/meshprof-nobody-never-written'], {
        cmd: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath],
        bin,
        cwd: dirname(dirname(bin)),
      })
      assert.equal(r.code, 5, r.stderr)
      assert.ok(clean(r), r.stderr)
      assert.match(r.stderr, /permission denied: pid \d+ belongs to root/)
      assert.doesNotMatch(p.stderr(), /Debugger listening/, 'no SIGUSR1 reached the target')
      assert.ok(alive(p.pid))
      rmSync(dirname(dirname(bin)), { recursive: true, force: true })
    } finally {
      await p.kill()
    }
  })

  test('root captures another user\'s Node process (the probe socket is handed to that user)', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
    const dir = tmp('asnobody')
    const js = script(dir, 'busy.js', BUSY_JS)
    spawnSync('chmod', ['755', dir])
    spawnSync('chmod', ['644', js])
    const p = start('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, js])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const pid = Number(/ready (\d+)/.exec(p.stdout())![1])
      const r = await withPort9229(() => meshprof(['capture', String(pid), '-d', '1s', '-o', join(dir, 'cap')]))
      assert.equal(r.code, 0, r.stderr)
      const cap = readJson(join(dir, 'cap', filesIn(join(dir, 'cap')).find((f) => f.endsWith('.capture.json'))!))
      assert.ok(readJson(join(dir, 'cap', cap.profile.file)).samples.length > 0)
    } finally {
      await p.kill()
    }
  })

  test('a non-Node process with perf missing: exit 6, and it is NOT signalled', async () => {
    const p = start('sleep', ['300'])
    try {
      const r = await meshprof(['capture', String(p.pid), '-d', '1s', '-o', join(tmp('noperf'), 'cap')], { env: { PATH: '/nonexistent' } })
      assert.equal(r.code, 6, r.stderr)
      assert.ok(clean(r), r.stderr)
      assert.match(r.stderr, /is not a Node\.js process and cannot be profiled natively: perf is not installed/)
      assert.match(r.stderr, /hint: install it/)
      await sleep(300)
      assert.ok(alive(p.pid), 'sleep is still running (SIGUSR1 would have killed it)')
      assert.equal(p.child.signalCode, null)
    } finally {
      await p.kill()
    }
  })
})

describe('inspector activation faults (port 9229)', () => {
  test('a target with its own SIGUSR1 handler: clear error after a bounded wait, target unharmed', async () => {
    const dir = tmp('own')
    const p = start(process.execPath, [script(dir, 'own.js', `${BUSY_JS}\nprocess.on('SIGUSR1', () => process.stdout.write('own SIGUSR1 handler ran\\n'))\n`)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const startup = await cliStartupMs()
      const r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', '1s', '-o', join(dir, 'cap')]))
      assert.equal(r.code, 5, r.stderr)
      assert.ok(clean(r), r.stderr)
      assert.match(r.stderr, /did not open its inspector within 3\.0 s of SIGUSR1: it handles SIGUSR1 itself/)
      assert.ok(r.ms < 3000 + 1500 + startup, `bounded wait: took ${r.ms} ms`)
      await waitFor(() => p.stdout().includes('own SIGUSR1 handler ran'), 3000, 'the handler')
      assert.ok(alive(p.pid))
      assert.ok(!listenPortsOf(p.pid).includes(9229))
      assert.deepEqual(filesIn(join(dir, 'cap')), [], 'nothing written')
    } finally {
      await p.kill()
    }
  })

  test('port 9229 held by another Node inspector: refused before signalling, no wrong-process profile', async () => {
    const dir = tmp('decoy')
    const busy = script(dir, 'busy.js', BUSY_JS)
    await withPort9229(async () => {
      const decoy = start(process.execPath, ['--inspect=127.0.0.1:9229', busy])
      const target = start(process.execPath, [busy])
      try {
        await waitFor(() => /Debugger listening on ws:\/\/127\.0\.0\.1:9229/.test(decoy.stderr()) && target.stdout().includes('ready'), 10000, 'decoy and target')
        const r = await meshprof(['capture', String(target.pid), '-d', '1s', '-o', join(dir, 'cap')])
        assert.equal(r.code, 5, r.stderr)
        assert.ok(clean(r), r.stderr)
        assert.match(r.stderr, new RegExp(`port 9229 is already in use by pid ${decoy.pid} \\(\\S*node --inspect`))
        assert.doesNotMatch(target.stderr(), /Debugger listening|address already in use/, 'the target was not signalled')
        assert.ok(alive(target.pid) && alive(decoy.pid))
        assert.ok(listenPortsOf(decoy.pid).includes(9229), 'the decoy\'s inspector is untouched')
        assert.deepEqual(filesIn(join(dir, 'cap')), [])
      } finally {
        await decoy.kill()
        await target.kill()
      }
    })
  })

  test('port 9229 held by a plain TCP listener: refused, says who holds it', async () => {
    const dir = tmp('plain')
    const target = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    await withPort9229(async () => {
      const srv = createServer((s) => s.destroy())
      await new Promise<void>((res, rej) => { srv.once('error', rej); srv.listen(9229, '127.0.0.1', () => res()) })
      try {
        await waitFor(() => target.stdout().includes('ready'), 10000, 'target')
        const r = await meshprof(['capture', String(target.pid), '-d', '1s', '-o', join(dir, 'cap')])
        assert.equal(r.code, 5, r.stderr)
        assert.ok(clean(r), r.stderr)
        assert.match(r.stderr, new RegExp(`port 9229 is already in use by pid ${process.pid}`))
        assert.doesNotMatch(target.stderr(), /Debugger listening/)
        assert.ok(alive(target.pid))
      } finally {
        await new Promise((res) => srv.close(res))
        await target.kill()
      }
    })
  })
})

describe('targets that go away mid-window', () => {
  test('process.exit mid-window: partial capture with the profile up to the exit, and a clear line', async () => {
    const dir = tmp('exit')
    const p = start(process.execPath, [script(dir, 'exit.js', `${BUSY_JS}\nprocess.stdin.once('data', () => setTimeout(() => process.exit(3), 800))\n`)])
    await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
    const startup = await cliStartupMs()
    const run = withPort9229(() => meshprof(['capture', String(p.pid), '-d', '4s', '-o', join(dir, 'cap')]))
    // start the exit clock once the window is open
    await waitFor(() => /Debugger attached/.test(p.stderr()), 15000, 'attach')
    await sleep(300)
    p.child.stdin!.write('go\n')
    const r = await run
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, new RegExp(`pid ${p.pid} \\(node\\) exited .* into the window: partial capture kept`))
    assert.ok(r.ms < 4000 + 2000 + startup, `took ${r.ms} ms`)
    const files = filesIn(join(dir, 'cap'))
    const cap = readJson(join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.process.partial, true)
    assert.ok(cap.process.durationMs < 3500, `window ended with the process: ${cap.process.durationMs} ms`)
    assert.ok(cap.profile, 'the profile was handed over on exit')
    assert.ok(readJson(join(dir, 'cap', cap.profile.file)).samples.length > 10)
    const top = await meshprof(['top', join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!)])
    assert.equal(top.code, 0, top.stderr)
  })

  test('SIGKILL mid-window: partial capture without a profile, network evidence kept', async () => {
    const dir = tmp('kill')
    const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
    const run = withPort9229(() => meshprof(['capture', String(p.pid), '-d', '4s', '-o', join(dir, 'cap')]))
    await waitFor(() => /Debugger attached/.test(p.stderr()), 15000, 'attach')
    await sleep(1200)
    p.child.kill('SIGKILL')
    const r = await run
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stderr, /exited .*partial capture kept/)
    const files = filesIn(join(dir, 'cap'))
    const capFile = join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!)
    const cap = readJson(capFile)
    assert.equal(cap.process.partial, true)
    assert.equal(cap.profile, undefined)
    assert.ok(cap.warnings.some((w: string) => /no CPU profile/.test(w)), cap.warnings.join('; '))
    assert.ok(cap.network.snapshots.length >= 1)
    const top = await meshprof(['top', capFile])
    assert.equal(top.code, 0, top.stderr)
  })
})

test('Ctrl-C ends the window early, keeps what was captured, exits 130', async () => {
  const dir = tmp('sigint')
  const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
  try {
    await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
    await withPort9229(async () => {
      const t0 = Date.now()
      const m = start(process.execPath, [BIN, 'capture', String(p.pid), '-d', '30s', '-o', join(dir, 'cap')], { env: { NO_COLOR: '1' } })
      await waitFor(() => /capturing 1 process/.test(m.stderr()), 15000, 'the window to open')
      await sleep(700)
      m.child.kill('SIGINT')
      const { code } = await m.exited
      assert.equal(code, 130, m.stderr())
      assert.ok(Date.now() - t0 < 15000, 'did not wait for the 30 s window')
      assert.match(m.stderr(), /stopping early; keeping what was captured/)
      const files = filesIn(join(dir, 'cap'))
      const cap = readJson(join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!))
      assert.ok(cap.process.durationMs < 10000, String(cap.process.durationMs))
      assert.ok(cap.warnings.some((w: string) => /Ctrl-C/.test(w)))
      assert.ok(readJson(join(dir, 'cap', cap.profile.file)).samples.length > 10)
      assert.ok(!listenPortsOf(p.pid).includes(9229))
      assert.ok(alive(p.pid))
    })
  } finally {
    await p.kill()
  }
})

test('the fixture C target builds (sanity for the perf tests)', { skip: spawnSync('gcc', ['--version']).status !== 0 ? 'no gcc' : false }, () => {
  const out = join(tmp('gcc'), 'cs')
  const r = spawnSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-Wall', '-Werror', '-o', out, join(ROOT, 'fixtures', 'mesh', 'native', 'connect-storm.c')], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
})
