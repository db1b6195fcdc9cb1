import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, isCleanFailure } from './helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-cli-'))
const folded = join(dir, 'small.folded')
writeFileSync(folded, 'main;runGossip;joinPeers;connectPeer;tls.connect 60\nmain;runGossip;emit 30\nmain;idle 10\n')

test('--version prints the package version', async () => {
  const r = await runCli(['--version'])
  assert.equal(r.code, 0)
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/)
})

test('unknown command is a usage error (exit 2), one line', async () => {
  const r = await runCli(['frobnicate'])
  assert.equal(r.code, 2)
  assert.ok(isCleanFailure(r), r.stderr)
})

test('top ranks by self with shares of the whole profile and marks connect frames', async () => {
  const r = await runCli(['top', folded])
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.match(lines[2]!, /60\s+60\.0%\s+60\.0%\s+60\s+60\.0%\s+tls\.connect \[connect\]/)
  assert.match(lines[3]!, /30\s+30\.0%\s+90\.0%\s+30\s+30\.0%\s+emit$/)
})

test('top --json --sort total --limit 2', async () => {
  const r = await runCli(['top', folded, '--json', '--sort', 'total', '--limit', '2'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.equal(j.total, 100)
  assert.deepEqual(j.rows.map((x: { name: string }) => x.name), ['main', 'runGossip'])
  assert.equal(j.rows[1].totalShare, 0.9)
  assert.equal(j.groups, 7)
})

test('top --focus / --ignore filter whole samples', async () => {
  const f = JSON.parse((await runCli(['top', folded, '--json', '--focus', 'connect|handshake'])).stdout)
  assert.equal(f.total, 60)
  const i = JSON.parse((await runCli(['top', folded, '--json', '--ignore', '^idle$'])).stdout)
  assert.equal(i.total, 90)
  const bad = await runCli(['top', folded, '--focus', '('])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /invalid regular expression/)
})

test('fold of folded input is the sorted identity', async () => {
  const r = await runCli(['fold', folded])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, 'main;idle 10\nmain;runGossip;emit 30\nmain;runGossip;joinPeers;connectPeer;tls.connect 60\n')
})

test('missing file: exit 3, one line, no stack trace', async () => {
  const r = await runCli(['top', join(dir, 'nope.folded')])
  assert.equal(r.code, 3)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /no such file/)
})

test('hostile frame names do not reach the terminal as escape sequences', async () => {
  const evil = join(dir, 'evil.folded')
  writeFileSync(evil, 'main;\x1b[2J\x1b]0;pwned\x07clear 5\n')
  const r = await runCli(['top', evil])
  assert.equal(r.code, 0)
  assert.ok(!r.stdout.includes('\x1b'), 'no ESC byte in output')
  assert.match(r.stdout, /\\x1b/)
})

test("'-' reads stdin, and -o - writes stdout", async () => {
  const r = await runCli(['fold', '-', '-o', '-'], { input: 'x;y 2\nx 1\n' })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, 'x 1\nx;y 2\n')
  const t = await runCli(['top', '-', '--json'], { input: 'x;y 2\n' })
  assert.equal(JSON.parse(t.stdout).total, 2)
})

test('a bad --choices value is a usage error before the command runs', async () => {
  const r = await runCli(['top', folded, '--by', 'line'])
  assert.equal(r.code, 2)
  assert.equal(r.stdout, '', 'the command did not run')
  assert.match(r.stderr, /Invalid values/)
  assert.ok(isCleanFailure(r), r.stderr)
})

test('an unknown option is named as such, even when it swallowed the positional after it', async () => {
  // yargs checks positionals before options: `--bogus x` takes x as its value, and "not enough
  // non-option arguments" would send the user looking for the wrong mistake.
  for (const args of [['fold', '--bogus', folded], ['fold', folded, '--bogus'], ['top', '--focus', 'x', '--bogus=1']]) {
    const r = await runCli(args)
    assert.equal(r.code, 2, args.join(' '))
    assert.equal(r.stderr, 'meshprof: Unknown argument: bogus\n', args.join(' '))
  }
  // Known options in every spelling stay known: negation, camelCase, aliases, and a missing profile is still that.
  const ok = await runCli(['fold', '--no-kernel', '--dropLast', '--event-filter=cycles', folded, '-o', join(dir, 'o.folded')])
  assert.equal(ok.code, 0, ok.stderr)
  const missing = await runCli(['top', '--sample-type', 'samples'])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /Not enough non-option arguments/)
})

test('a 50,000-frame folded line is detected by content and ranked (no recursion overflow)', async () => {
  const deep = join(dir, 'deep.folded')
  writeFileSync(deep, Array.from({ length: 50000 }, (_, i) => `frame_${i % 13}`).join(';') + ' 7\n')
  const r = await runCli(['top', deep, '--json', '--limit', '1'])
  assert.equal(r.code, 0, r.stderr)
  const j = JSON.parse(r.stdout)
  assert.equal(j.total, 7)
  assert.equal(j.rows[0].name, 'frame_1')
})

test('--sample-type applies to every format: a folded file has one column, an unknown one is exit 2', async () => {
  const ok = await runCli(['top', folded, '--sample-type', 'samples', '--json'])
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(JSON.parse(ok.stdout).valueType, 'samples')
  const bad = await runCli(['top', folded, '--sample-type', 'alloc_space'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /not in this profile; available: 0: samples\/count/)
  assert.ok(isCleanFailure(bad), bad.stderr)
})
