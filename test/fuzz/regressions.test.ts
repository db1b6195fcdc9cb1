// Inputs the fuzzer found that broke the contract, each kept as a test (the input is written here,
// small and exact, so it survives corpus changes).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EVENT_RE, PERIOD_RE } from '../../src/formats/perf-core.js'
import { loadProfiles } from '../../src/formats/index.js'
import { totalWeight } from '../../src/model/ops.js'
import { spawnSync } from 'node:child_process'
import { pathToFileURL } from 'node:url'
import { ROOT, runCli, isCleanFailure } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-fuzz-regress-'))
function file(name: string, data: string | Buffer): string {
  const p = join(dir, name)
  writeFileSync(p, data)
  return p
}

// seed 1 case 53: folded text with a 39-digit count hung `top`/`analyze` (and any folded file with
// a long digit run): format detection tries the perf script event regex, whose perl-style
// `(\d+)*` backtracked exponentially in V8.
test('a folded line with a 39-digit count loads in well under a second (was a hang)', { timeout: 60_000 }, async () => {
  const p = file('huge-count.folded', 'a;b 1\nc;d 123456789012345678901234567890123456789\n')
  const r = await runCli(['top', p, '--json'], { timeoutMs: 30_000 })
  assert.equal(r.code, 0, r.stderr)
  const rows = JSON.parse(r.stdout).rows as Array<{ name: string }>
  assert.ok(rows.some((x) => x.name === 'd'))
})

test('perf event / period regexes stay linear on long digit runs and keep their perl captures', () => {
  // In a child process: the old expressions never return, and a test cannot interrupt a regex.
  const code = `import('${pathToFileURL(join(ROOT, 'dist', 'src', 'formats', 'perf-core.js')).href}').then(({ EVENT_RE, PERIOD_RE }) => {
    const d = '1'.repeat(50000)
    process.stdout.write(String(EVENT_RE.test('java ' + d + 'x')) + ' ' + String(PERIOD_RE.test('java 1 [000] 1.0: ' + d + 'x')))
  })`
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 })
  assert.equal(r.signal, null, 'regexes did not return within 20 s')
  assert.equal(r.stdout, 'false false', r.stderr)
  // The captures perl's `(\d+)\/*(\d+)*` gives: pid, then tid only after a '/'.
  assert.deepEqual([...EVENT_RE.exec('java 4242/4243 [001] 1.0: 1 cycles:')!].slice(1), ['java', '4242', '4243'])
  assert.deepEqual([...EVENT_RE.exec('java 4242 [001] 1.0: 1 cycles:')!].slice(1), ['java', '4242', undefined])
  assert.deepEqual([...EVENT_RE.exec('java 4242// 1.0: 1 cycles:')!].slice(1), ['java', '4242', undefined])
  assert.deepEqual([...PERIOD_RE.exec('java 4242 [001] 1.0: 250000 cycles:')!].slice(1), ['250000', 'cycles'])
  assert.deepEqual([...PERIOD_RE.exec('java 4242 [001] 1.0: cpu-clock:ppp:')!].slice(1), [undefined, 'cpu-clock:ppp'])
})

// seed 1 case 53 (same input): a stack seen again with a negative count subtracted from the first
// occurrence (a new stack's negative count was already ignored), so totals depended on line order.
test('folded: a repeated stack with a negative or non-numeric count adds nothing, like a new one', async () => {
  const p = file('neg.folded', 'a;b 5\na;b -9223372036854775808\nc;d -1\na;b 1e999\na;b 2\n')
  const prof = (await loadProfiles(p)).profiles[0]!
  assert.equal(totalWeight(prof), 7)
})

test('the hang input through the real CLI: analyze answers with exit 0, no stack trace', { timeout: 60_000 }, async () => {
  const lines = ['a;b 1', 'c;d 1', 'a;b \r', 'a;b 9007199254740993', 'c;d 123456789012345678901234567890123456789', 'c;d -1', 'a;b 00000000000000000000001', ' ;b 1']
  const p = file('case53.folded', lines.join('\n') + '\n')
  const r = await runCli(['analyze', p, '--json'], { timeoutMs: 30_000 })
  assert.ok(r.code === 0 || (r.code === 4 && isCleanFailure(r)), `exit ${r.code}: ${r.stderr}`)
})

// seed 14 case 3513: a 2.8 MB frame line of hex digits with no "(module)" (a deep-nesting mutation
// spliced into perf text) hung the perf script importer and `fold`: the stack-line regex
// backtracked quadratically before failing.
test('perf script: a 3 MB frame line without parentheses is skipped in well under the timeout (was a hang)', { timeout: 120_000 }, async () => {
  const p = file('long-frame.perf.txt', `app 1 [000] 1.000000: 1 cycles:\n\t    ${'f'.repeat(3_000_000)}\n\t    ffffffff81000000 main ([kernel.kallsyms])\n\n`)
  for (const args of [['top', '--format', 'perf-script', p], ['fold', p]]) {
    const r = await runCli(args, { timeoutMs: 45_000 })
    assert.ok(r.code === 0 || (r.code === 4 && isCleanFailure(r)), `${args[0]}: exit ${r.code}: ${r.stderr}`)
  }
})

// seed 20261206 case 3801: counts of 1e308 (each finite) summed to Infinity; `top` printed
// "total Infinity samples" with every share 0.0%. Now refused as bad input.
test('folded: counts that add up past the largest number are refused with exit 4, one line', { timeout: 60_000 }, async () => {
  const p = file('overflow.folded', 'main;a 1e308\nmain;b 1e308\nmain;c 5\n')
  const r = await runCli(['top', p], { timeoutMs: 30_000 })
  assert.equal(r.code, 4, r.stdout)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /add up to more than a number can hold/)
  // One such count alone is a number: it loads.
  assert.equal((await runCli(['top', file('one-big.folded', 'main;a 1e308\nmain;c 5\n')])).code, 0)
})
