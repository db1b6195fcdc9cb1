// Runs every compiled test file with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [substring ...]   (filters test files by path)
//
// Tests that attach to real processes through the Node inspector (capture, mesh captures) share the
// machine-wide default inspector port 9229 and some deliberately occupy it (decoy tests), so they run
// one file at a time after the rest, which run two at a time.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const SERIAL = [/[\\/]capture[\\/]/, /capture\.test\.js$/, /mesh-modes\.test\.js$/]
const filters = process.argv.slice(2)
const files = []
function walk(dir) {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) walk(p)
    else if (e.endsWith('.test.js') && (filters.length === 0 || filters.some((f) => p.includes(f)))) files.push(p)
  }
}
walk('dist/test')
if (files.length === 0) { console.error('no test files found'); process.exit(1) }
const serial = files.filter((f) => SERIAL.some((re) => re.test(f)))
const parallel = files.filter((f) => !serial.includes(f))
// One node --test run for all files, so the runner prints one summary; serial files need their own run
// with concurrency 1, so we run two passes and print a combined closing line.
let failed = 0
let passed = 0
let skipped = 0
// Port 9229 is machine-wide, so two test runs on one machine (two checkouts, CI beside a developer)
// would fight over it: the serial group takes a machine-wide lock when flock(1) is there.
const FLOCK = ['/usr/bin/flock', '/bin/flock'].find((p) => existsSync(p))
function run(list, concurrency, machineLock) {
  if (list.length === 0) return 0
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...list]
  const [cmd, argv] = machineLock && FLOCK ? [FLOCK, ['/tmp/meshprof-inspector-tests.lock', process.execPath, ...args]] : [process.execPath, args]
  const r = spawnSync(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 256 << 20 })
  process.stdout.write(r.stdout)
  const num = (k) => Number((r.stdout.match(new RegExp(`^ℹ ${k} (\\d+)$`, 'm')) ?? [])[1] ?? 0)
  passed += num('pass')
  failed += num('fail')
  skipped += num('skipped')
  return r.status ?? 1
}
const s1 = run(parallel, 2)
const s2 = run(serial, 1, true)
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(s1 || s2 || (failed > 0 ? 1 : 0))
