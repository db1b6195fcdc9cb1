// Habits of the Node CLI ecosystem: chalk's colour detection with NO_COLOR/--color on top, a
// schemaVersion on every JSON document, an example for every command in --help.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, BIN } from './helpers/cli.js'
import { COMMANDS } from '../src/cli/commands/index.js'
import { EXAMPLES } from '../src/cli/examples.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-habits-'))
const folded = join(dir, 'small.folded')
writeFileSync(folded, 'main;runGossip;joinPeers;tls.connect 60\nmain;idle 10\n')
const ANSI = /\x1b\[\d+m/
// A clean slate: whatever the test runner or CI set must not decide these tests.
const CLEAN = { NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, TERM: 'xterm-256color' }

async function topIn(env: NodeJS.ProcessEnv, ...flags: string[]): Promise<string> {
  const r = await runCli(['top', folded, ...flags], { env: { ...CLEAN, ...env } })
  assert.equal(r.code, 0, r.stderr)
  return r.stdout
}

/** stdout of `meshprof top` on a pseudo-terminal (util-linux script(1)). */
function topOnTty(env: NodeJS.ProcessEnv, ...flags: string[]): string {
  const cmd = [process.execPath, BIN, 'top', folded, ...flags].map((a) => `'${a}'`).join(' ')
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...CLEAN, ...env }, encoding: 'utf8', timeout: 30000 })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /tls\.connect/)
  return r.stdout
}

const hasScript = spawnSync('script', ['--version']).status === 0

test('colour in a pipe: off by default and with FORCE_COLOR=0 (was on), on with FORCE_COLOR=1 or --color', async () => {
  assert.doesNotMatch(await topIn({}), ANSI)
  assert.doesNotMatch(await topIn({ FORCE_COLOR: '0' }), ANSI)
  assert.match(await topIn({ FORCE_COLOR: '1' }), ANSI)
  assert.match(await topIn({}, '--color'), ANSI)
  assert.match(await topIn({ FORCE_COLOR: '0' }, '--color'), ANSI, 'an explicit --color wins over the environment')
})

test('NO_COLOR and --no-color switch colour off even when forced', async () => {
  assert.doesNotMatch(await topIn({ FORCE_COLOR: '1', NO_COLOR: '1' }), ANSI)
  assert.doesNotMatch(await topIn({ FORCE_COLOR: '1' }, '--no-color'), ANSI)
  assert.match(await topIn({ FORCE_COLOR: '1', NO_COLOR: '' }), ANSI, 'an empty NO_COLOR does not count (no-color.org)')
})

test('colour on a terminal: on by default, off with TERM=dumb, FORCE_COLOR=0, NO_COLOR or --no-color', { skip: hasScript ? false : 'script(1) not installed' }, () => {
  assert.match(topOnTty({}), ANSI)
  assert.doesNotMatch(topOnTty({ TERM: 'dumb' }), ANSI)
  assert.doesNotMatch(topOnTty({ FORCE_COLOR: '0' }), ANSI)
  assert.doesNotMatch(topOnTty({ NO_COLOR: '1' }), ANSI)
  assert.doesNotMatch(topOnTty({}, '--no-color'), ANSI)
})

test('top --json carries a schemaVersion like analyze and diff', async () => {
  const top = JSON.parse((await runCli(['top', folded, '--json'])).stdout)
  const analyze = JSON.parse((await runCli(['analyze', folded, '--json'])).stdout)
  assert.equal(top.schemaVersion, 1)
  assert.equal(typeof analyze.schemaVersion, 'number')
  assert.equal(top.total, 70)
})

test('--help shows an example for every command, and each command help shows its own', async () => {
  const names = COMMANDS.map((c) => String(c.command).split(' ')[0]!)
  const main = await runCli(['--help'])
  assert.equal(main.code, 0)
  assert.match(main.stdout, /Examples:/)
  for (const name of names) {
    assert.ok(EXAMPLES[name]?.length, `an example for ${name}`)
    assert.match(main.stdout, new RegExp(`^\\s+meshprof ${name} `, 'm'), `top-level help shows ${name}`)
    const own = await runCli([name, '--help'])
    assert.equal(own.code, 0, own.stderr)
    assert.match(own.stdout, new RegExp(`Examples:\\n\\s+meshprof ${name} `), `${name} --help shows its example`)
    // every option an example uses is one the command has (its options, above the examples)
    const options = own.stdout.split('Examples:')[0]!
    for (const [cmd] of EXAMPLES[name]!) {
      for (const opt of cmd.match(/ --?[a-z][a-z-]*/g) ?? []) {
        const flag = opt.trim()
        assert.ok(options.includes(flag.length === 2 ? `${flag},` : flag), `${name} --help lists ${flag} used in its example`)
      }
    }
  }
})

/** A stand-in browser: a script that records the page it was asked to open. */
function fakeBrowser(): { env: NodeJS.ProcessEnv; opened: () => Promise<string[]> } {
  const log = join(dir, `opened-${Math.random().toString(36).slice(2)}.log`)
  const script = join(dir, `browser-${Math.random().toString(36).slice(2)}.sh`)
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\n`, { mode: 0o755 })
  return {
    env: { BROWSER: script },
    // the browser is started detached: wait for what it wrote, not a fixed time
    async opened() {
      const end = Date.now() + 10000
      while (!existsSync(log) && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
      return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
    },
  }
}

test('--open shows the written page in the browser ($BROWSER): flamegraph, view, diff --html', async () => {
  const cases: [string[], string][] = [
    [['flamegraph', folded, '-o', join(dir, 'f.html')], join(dir, 'f.html')],
    [['view', folded, '-o', join(dir, 'v.html')], join(dir, 'v.html')],
    [['diff', folded, folded, '--html', join(dir, 'd.html')], join(dir, 'd.html')],
  ]
  for (const [args, page] of cases) {
    const browser = fakeBrowser()
    // first without --open (nothing may be opened), then with it: the browser sees exactly one page
    assert.equal((await runCli(args, { env: browser.env })).code, 0)
    const r = await runCli([...args, '--open'], { env: browser.env })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await browser.opened(), [page], `${args[0]} --open opened its page, and only that run did`)
    assert.match(readFileSync(page, 'utf8'), /^<!DOCTYPE html>/i)
  }
})

test('--open: no file to open is a usage error before any work; a missing browser is one line, the page kept', async () => {
  for (const args of [['flamegraph', folded, '-o', '-', '--open'], ['view', folded, '-o', '-', '--open'], ['diff', folded, folded, '--open']]) {
    const r = await runCli(args)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /^meshprof: --open (needs a file|opens the page)/)
    assert.equal(r.stdout, '', 'nothing was rendered')
  }
  const page = join(dir, 'nobrowser.html')
  const r = await runCli(['flamegraph', folded, '-o', page, '--open'], { env: { BROWSER: join(dir, 'no-such-browser') } })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /could not open a browser \(.*ENOENT.*\); the page is .*nobrowser\.html\n$/)
  assert.ok(existsSync(page))
})
