// `run` shows progress without mixing it into the command's output, and `capture`/`run` end with a
// flamegraph page when asked (--flamegraph [FILE]).
import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN } from '../helpers/cli.js'
import { killAll, meshprof, script, start, tmp, waitFor, withPort9229, BUSY_JS } from './helpers.js'

after(killAll)

const TICKER = "let n = 0; const t = setInterval(() => { console.log(`tick ${++n}`); if (n === 25) clearInterval(t) }, 100)\n"
const hasScript = spawnSync('script', ['--version']).status === 0

/** `meshprof run ...` on a 24x80 pseudo-terminal (util-linux script(1)); everything the terminal got. */
function runOnTty(dir: string, args: string[]): string {
  const cmd = `stty rows 24 cols 80; '${process.execPath}' '${BIN}' ${args.map((x) => `'${x}'`).join(' ')}`
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 60000, env: { ...process.env, NO_COLOR: '1' } })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  return r.stdout
}

// ESC 7, to the last row, clear it, the text, ESC 8: the only form the progress line may take.
const STATUS = /\x1b7\x1b\[24;1H\x1b\[2K([^\x1b]*)\x1b8/g

function checkTerminal(out: string): string[] {
  // the last row is taken out of the scrolling region before the first line, and given back at the end
  assert.ok(out.includes('\x1b7\x1b[1;23r\x1b8'), 'scroll region 1..23 set')
  assert.ok(out.includes('\x1b[r'), 'scroll region reset')
  assert.ok(out.indexOf('\x1b[r') > out.lastIndexOf('tick 25'), 'reset after the command ended')
  const shown = [...out.matchAll(STATUS)].map((m) => m[1]!)
  // the child's lines arrive whole: with the progress drawings taken out, each is exactly "tick N"
  const rest = out.replace(STATUS, '').replace(/\x1b\[1A|\x1b7\x1b\[1;23r\x1b8|\x1b7\x1b\[24;1H\x1b\[2K\x1b\[r\x1b8/g, '')
  const ticks = rest.split(/\r?\n/).filter((l) => /tick \d/.test(l))
  assert.deepEqual(ticks, Array.from({ length: 25 }, (_, i) => `tick ${i + 1}`))
  assert.doesNotMatch(rest, /profiling/, 'no progress text outside its own row')
  return shown
}

describe('run: progress on its own row of the terminal, never in the command\'s output', { skip: hasScript ? false : 'script(1) not installed' }, () => {
  test('without -d: the time so far', () => {
    const dir = tmp('progress')
    script(dir, 'ticker.js', TICKER)
    const shown = checkTerminal(runOnTty(dir, ['run', '-o', 'cap', '--', process.execPath, 'ticker.js']))
    assert.ok(shown.length >= 2, `redrawn, not printed once: ${JSON.stringify(shown)}`)
    assert.match(shown[0]!, /^meshprof: profiling .*node.*: 0 s \(until it exits/)
    assert.ok(shown.some((s) => /: [12] s \(until it exits/.test(s)), JSON.stringify(shown))
  })

  test('with -d: the time left', () => {
    const dir = tmp('progress-d')
    script(dir, 'ticker.js', TICKER)
    const shown = checkTerminal(runOnTty(dir, ['run', '-d', '20s', '-o', 'cap', '--', process.execPath, 'ticker.js']))
    assert.match(shown[0]!, /^meshprof: profiling .*: 20 s left/)
  })

  test('stderr not a terminal: no progress at all, the command\'s output untouched', async () => {
    const dir = tmp('progress-pipe')
    const js = script(dir, 'ticker.js', TICKER)
    const r = await meshprof(['run', '-o', join(dir, 'cap'), '--', process.execPath, js])
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stderr, /\x1b|profiling|s left/)
    assert.deepEqual(r.stdout.split('\n').filter((l) => l.startsWith('tick')), Array.from({ length: 25 }, (_, i) => `tick ${i + 1}`))
  })
})

describe('--flamegraph [FILE]: one command ends with a page', () => {
  const page = (file: string) => {
    const html = readFileSync(file, 'utf8')
    assert.match(html, /^<!DOCTYPE html>/i)
    return html
  }

  test('run --flamegraph: <output dir>/flamegraph.html of what was captured', async () => {
    const dir = tmp('run-flame')
    const js = script(dir, 'busy.js', 'function work() { let x = 0; for (let i = 0; i < 3e5; i++) x += Math.sqrt(i); return x }\nconst t = Date.now(); while (Date.now() - t < 1500) work()\n')
    const r = await meshprof(['run', '-o', join(dir, 'cap'), '--flamegraph', '--', process.execPath, js])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /wrote .*cap\/flamegraph\.html/)
    assert.ok(page(join(dir, 'cap', 'flamegraph.html')).includes('"work"'), 'the captured function is on the page')
  })

  test('capture PID --flamegraph FILE, and capture --flamegraph PID (the pid is not taken for a file)', async () => {
    const dir = tmp('capture-flame')
    const p = start(process.execPath, [script(dir, 'busy.js', BUSY_JS)])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const file = join(dir, 'mine.html')
      const a = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', '1s', '-o', join(dir, 'a'), '--flamegraph', file]))
      assert.equal(a.code, 0, a.stderr)
      page(file)
      const b = await withPort9229(() => meshprof(['capture', '--flamegraph', String(p.pid), '-d', '1s', '-o', join(dir, 'b')]))
      assert.equal(b.code, 0, b.stderr)
      page(join(dir, 'b', 'flamegraph.html'))
      assert.equal(existsSync(join(dir, String(p.pid))), false)
    } finally {
      await p.kill()
    }
  })
})
