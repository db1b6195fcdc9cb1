// `npm run bench`: runs every bench/<area>.mjs in turn (each prints a human table and one line
// starting with `BENCH_JSON ` holding its numbers), then writes bench/out/results.json.
// Pass area names to run only some: `npm run bench -- perf-fold pprof-top`.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(here).filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'record.mjs' && !f.startsWith('_')).filter((f) => only.length === 0 || only.includes(f.replace(/\.mjs$/, ''))).sort()
mkdirSync(join(here, 'out'), { recursive: true })
const results = {}
for (const b of benches) {
  console.log(`\n=== ${b} ===`)
  const r = spawnSync(process.execPath, [join(here, b)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 })
  process.stdout.write(r.stdout ?? '')
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH_JSON '))
  results[b.replace(/\.mjs$/, '')] = line ? JSON.parse(line.slice('BENCH_JSON '.length)) : { error: `exit ${r.status}` }
}
writeFileSync(join(here, 'out', 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2))
console.log(`\nwrote ${join(here, 'out', 'results.json')}`)
