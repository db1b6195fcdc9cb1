// Runs every compiled test file with node's built-in test runner.
// Usage: node scripts/run-tests.mjs [substring ...]   (filters test files by path)
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
