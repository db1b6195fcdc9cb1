// `npm run fuzz`: mutate the corpus and meshprof's own sample inputs, feed every importer and every
// command that reads profiles, and check the error contract on each case (see harness.ts).
//   --cases N (10000)  --seconds S (540)  --seed N (random, printed)  --case I (reproduce one case)
//   --jobs N (3)  --timeout-ms (20000)  --heap-mb (1024)  --max-rss-mb (3072)  --cli-every N (100)
//   --out DIR (fuzz-failures)  --corpus DIR (../shared/corpus or MESHPROF_CORPUS)
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatSummary, runFuzz } from './harness.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
function num(name: string, dflt: number): number {
  const v = arg(name)
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`fuzz: --${name}: not a number: ${v}\n`)
    process.exit(2)
  }
  return n
}

const corpus = arg('corpus') ?? process.env.MESHPROF_CORPUS ?? join(ROOT, '..', 'shared', 'corpus')
const seed = num('seed', Math.floor(Math.random() * 2 ** 31))
const only = arg('case') === undefined ? undefined : num('case', 0)
const summary = await runFuzz({
  seed,
  cases: num('cases', 10000),
  seconds: num('seconds', 540),
  only,
  jobs: Math.max(1, num('jobs', 3)),
  timeoutMs: num('timeout-ms', 20000),
  heapMb: num('heap-mb', 1024),
  maxRssMb: num('max-rss-mb', 3072),
  cliEvery: num('cli-every', 100),
  failDir: arg('out') ?? join(process.cwd(), 'fuzz-failures'),
  corpus: existsSync(join(corpus, 'manifest.json')) ? corpus : undefined,
  progressEvery: 1000,
  log: (l) => process.stdout.write(l + '\n'),
})
if (!existsSync(join(corpus, 'manifest.json'))) process.stdout.write(`note: no corpus at ${corpus}; fuzzed the built-in and exported seeds only\n`)
process.stdout.write(formatSummary(summary) + '\n')
process.exitCode = summary.failures.length ? 1 : 0
