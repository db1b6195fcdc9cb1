// Bench: `meshprof diff` on two 40,000-stack folded profiles (generated deterministically into
// bench/out/ by _flamegen.mjs, two seeds so the call graphs overlap only partly), against loading
// and ranking the same two files with `meshprof top` (the floor diff cannot beat: it must read both
// files too) in the same run. Also `diff --no-findings` (without analyze's rules on both sides) and
// `diff --difffolded` (per-stack, difffolded.pl's output).
// Run after `npm run build`: node bench/diff.mjs
import { existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { best, table } from './_proc.mjs'
import { generateFolded } from './_flamegen.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const bin = join(here, '..', 'bin', 'meshprof.js')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })

const N = 40_000
const files = [7, 8].map((seed) => {
  const f = join(out, `diff-${seed}-${N / 1000}k.folded`)
  if (!existsSync(f)) writeFileSync(f, generateFolded(N, { seed }))
  return f
})
const [a, b] = files
const mb = files.map((f) => statSync(f).size / 1048576)

const run = async (args) => {
  const r = await best(3, process.execPath, [bin, ...args])
  if (r.code !== 0) {
    console.error(`meshprof ${args.join(' ')} failed: ${r.stderr}`)
    process.exit(1)
  }
  return r
}
const topA = await run(['top', a, '--limit', '20'])
const topB = await run(['top', b, '--limit', '20'])
const diff = await run(['diff', a, b, '--limit', '20'])
const diffJson = await run(['diff', a, b, '--json', '--limit', '20'])
const noFind = await run(['diff', a, b, '--no-findings', '--limit', '20'])
const folded = await run(['diff', a, b, '--difffolded'])
const ref = topA.ms + topB.ms
const summary = {
  stacksPerSide: N,
  inputMB: Number((mb[0] + mb[1]).toFixed(1)),
  diffMs: Math.round(diff.ms),
  diffJsonMs: Math.round(diffJson.ms),
  diffNoFindingsMs: Math.round(noFind.ms),
  difffoldedMs: Math.round(folded.ms),
  topBothMs: Math.round(ref),
  diffRssMB: Math.round(diff.rssMB),
  ratioDiffVsTopBoth: Number((diff.ms / ref).toFixed(2)),
}
console.log(table([
  ['command (best of 3)', 'time', 'peak RSS', 'vs top a + top b'],
  ['meshprof top a + top b', `${(ref / 1000).toFixed(2)} s`, `${Math.max(topA.rssMB, topB.rssMB).toFixed(0)} MB`, '1.00x'],
  ['meshprof diff a b', `${(diff.ms / 1000).toFixed(2)} s`, `${diff.rssMB.toFixed(0)} MB`, `${summary.ratioDiffVsTopBoth}x`],
  ['meshprof diff a b --json', `${(diffJson.ms / 1000).toFixed(2)} s`, `${diffJson.rssMB.toFixed(0)} MB`, `${(diffJson.ms / ref).toFixed(2)}x`],
  ['meshprof diff a b --no-findings', `${(noFind.ms / 1000).toFixed(2)} s`, `${noFind.rssMB.toFixed(0)} MB`, `${(noFind.ms / ref).toFixed(2)}x`],
  ['meshprof diff a b --difffolded', `${(folded.ms / 1000).toFixed(2)} s`, `${folded.rssMB.toFixed(0)} MB`, `${(folded.ms / ref).toFixed(2)}x`],
]))
console.log(`inputs: ${a} (${mb[0].toFixed(1)} MB), ${b} (${mb[1].toFixed(1)} MB), ${N} unique stacks each`)
console.log('BENCH_JSON ' + JSON.stringify(summary))
