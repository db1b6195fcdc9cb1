// Bench on recorded workloads (bench/record.mjs records them once into bench/out/): every goal of
// the README's speed table with its reference tool measured in the same run.
//
//   FLAMEGRAPH_DIR=/path/to/FlameGraph node bench/real.mjs      (after `npm run build`)
//
// - fold: real-perf.txt (perf record -g of a Node service with --perf-basic-prof) vs
//   stackcollapse-perf.pl; output compared byte for byte; peak RSS at that size and at 1 GB. Rows:
//   the default (a worker thread only for a core that sat idle during start-up; `fold -v` says how
//   many it used), and 1 and 2 threads forced with MESHPROF_PERF_THREADS.
// - pprof top: real-datadog.pb.gz (30 s @datadog/pprof, a label set per sample) vs go tool pprof -top.
// - folded: real-100k.folded (100k unique stacks from rustc, g++ and the Node service): import
//   throughput (in-process, loadProfile), `top`, `flamegraph` and `analyze`.
// - startup: what every command pays before its work: `--version`, and `fold` of the first samples
//   of real-perf.txt (cut at a blank line near 64 KB), against bare `node -e 0` in the same run
//   (median and best of BENCH_STARTUP_RUNS, default 20).
// Wall time moves with the machine's load; CPU time (user + sys) is printed next to it.
// Env: BENCH_RUNS (best of, default 3; perl and go run once each unless BENCH_REF_RUNS is set);
// BENCH_BIN (another build's bin/meshprof.js, to compare builds with the same inputs).
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measure, has, table } from './_proc.mjs'
import { INPUTS } from './record.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })
const BIN = process.env.BENCH_BIN ?? join(root, 'bin', 'meshprof.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const REF_RUNS = Number(process.env.BENCH_REF_RUNS ?? 1)
const FG = process.env.FLAMEGRAPH_DIR
const MB = (b) => b / 1048576
const only = process.argv.slice(2)
const doing = (k) => only.length === 0 || only.includes(k)

const missing = Object.entries(INPUTS).filter(([, p]) => !existsSync(p)).map(([k]) => k)
if (missing.length) {
  process.stderr.write(`recording missing inputs (${missing.join(', ')}) with bench/record.mjs ...\n`)
  const r = spawnSync(process.execPath, [join(here, 'record.mjs')], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('bench/record.mjs failed')
}

/** Best (by wall time) of n runs of `sh -c 'exec CMD > OUT'`. */
async function run(n, cmdline, outFile = '/dev/null') {
  let b
  for (let i = 0; i < n; i++) {
    const r = await measure('sh', ['-c', `exec ${cmdline} > "${outFile}"`])
    if (r.code !== 0) throw new Error(`${cmdline} failed (${r.code}): ${r.stderr.slice(-400)}`)
    if (!b || r.ms < b.ms) b = r
  }
  // `fold -v` says how many threads it used (the default starts workers only for idle cores).
  const threads = /(\d+) thread\(s\)/.exec(b.stderr)?.[1]
  return { wallS: +(b.ms / 1000).toFixed(2), cpuS: b.cpuMs === undefined ? null : +(b.cpuMs / 1000).toFixed(2), rssMB: Math.round(b.rssMB), ...(threads ? { threads: Number(threads) } : {}) }
}
const q = (s) => `"${s}"`
const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex')
const ratio = (a, b) => +(a / b).toFixed(3)
const results = { date: new Date().toISOString(), node: process.version, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number), inputs: {} }
for (const [k, p] of Object.entries(INPUTS)) results.inputs[k] = { path: p, sizeMB: +MB(statSync(p).size).toFixed(1) }
const rows = [['work', 'input', 'meshprof wall s', 'cpu s', 'RSS MB', 'reference', 'ref wall s', 'ref cpu s', 'ref RSS MB', 'ratio (wall)', 'ratio (cpu)']]
const row = (work, input, m, refName, ref) => {
  rows.push([work, input, m.wallS, m.cpuS ?? '-', m.rssMB, refName ?? '-', ref?.wallS ?? '-', ref?.cpuS ?? '-', ref?.rssMB ?? '-', ref ? ratio(ref.wallS, m.wallS) + 'x' : '-', ref?.cpuS && m.cpuS ? ratio(ref.cpuS, m.cpuS) + 'x' : '-'])
}

if (doing('fold')) {
  const perf = INPUTS.perf
  const size = `${results.inputs.perf.sizeMB} MB`
  const mp = await run(RUNS, `${q(process.execPath)} ${q(BIN)} fold -v ${q(perf)}`, join(out, 'real-perf.meshprof.folded'))
  const mp1 = await run(RUNS, `env MESHPROF_PERF_THREADS=1 ${q(process.execPath)} ${q(BIN)} fold ${q(perf)}`, join(out, 'real-perf.meshprof1.folded'))
  const mp2 = await run(RUNS, `env MESHPROF_PERF_THREADS=2 ${q(process.execPath)} ${q(BIN)} fold ${q(perf)}`, join(out, 'real-perf.meshprof2.folded'))
  let perl = null
  let identical = 'skipped (FLAMEGRAPH_DIR not set)'
  if (FG && existsSync(join(FG, 'stackcollapse-perf.pl'))) {
    perl = await run(REF_RUNS, `perl ${q(join(FG, 'stackcollapse-perf.pl'))} ${q(perf)}`, join(out, 'real-perf.perl.folded'))
    const want = sha(join(out, 'real-perf.perl.folded'))
    identical = ['', '1', '2'].every((t) => sha(join(out, `real-perf.meshprof${t}.folded`)) === want)
  }
  const big = await run(RUNS, `${q(process.execPath)} ${q(BIN)} fold -v ${q(INPUTS.perf1g)}`, join(out, 'real-perf-1g.meshprof.folded'))
  const big1 = await run(RUNS, `env MESHPROF_PERF_THREADS=1 ${q(process.execPath)} ${q(BIN)} fold ${q(INPUTS.perf1g)}`)
  const big2 = await run(RUNS, `env MESHPROF_PERF_THREADS=2 ${q(process.execPath)} ${q(BIN)} fold ${q(INPUTS.perf1g)}`)
  // perl on 1 GB takes a minute or more on a busy machine: BENCH_PERL_1G=0 skips it.
  let perlBig = null
  let identicalBig = 'skipped'
  if (perl && process.env.BENCH_PERL_1G !== '0') {
    perlBig = await run(REF_RUNS, `perl ${q(join(FG, 'stackcollapse-perf.pl'))} ${q(INPUTS.perf1g)}`, join(out, 'real-perf-1g.perl.folded'))
    identicalBig = sha(join(out, 'real-perf-1g.perl.folded')) === sha(join(out, 'real-perf-1g.meshprof.folded'))
  }
  const size1g = `${results.inputs.perf1g.sizeMB} MB`
  const dflt = (m) => `fold (default: ${m.threads ?? '?'} thread${m.threads === 1 ? '' : 's'})`
  row(dflt(mp), size, mp, perl && 'stackcollapse-perf.pl', perl)
  row('fold (1 thread)', size, mp1, perl && 'stackcollapse-perf.pl', perl)
  row('fold (2 threads)', size, mp2, perl && 'stackcollapse-perf.pl', perl)
  row(dflt(big), size1g, big, perlBig && 'stackcollapse-perf.pl', perlBig)
  row('fold (1 thread)', size1g, big1, perlBig && 'stackcollapse-perf.pl', perlBig)
  row('fold (2 threads)', size1g, big2, perlBig && 'stackcollapse-perf.pl', perlBig)
  results.fold = {
    meshprof: mp, meshprof1: mp1, meshprof2: mp2, perl, identical,
    oneGB: big, oneGB1: big1, oneGB2: big2, perlOneGB: perlBig, identicalOneGB: identicalBig,
    speedup: perl ? ratio(perl.wallS, mp.wallS) : null,
    cpuSpeedup: perl ? ratio(perl.cpuS, mp.cpuS) : null,
    speedup1: perl ? ratio(perl.wallS, mp1.wallS) : null,
    cpuSpeedup1: perl ? ratio(perl.cpuS, mp1.cpuS) : null,
    speedup2: perl ? ratio(perl.wallS, mp2.wallS) : null,
    cpuSpeedup2: perl ? ratio(perl.cpuS, mp2.cpuS) : null,
  }
}

if (doing('pprof')) {
  const pb = INPUTS.pprof
  const size = `${results.inputs.pprof.sizeMB} MB gz`
  const mp = await run(RUNS, `${q(process.execPath)} ${q(BIN)} top ${q(pb)}`)
  let go = null
  if (has('go')) go = await run(REF_RUNS, `go tool pprof -top ${q(pb)} 2>/dev/null`)
  row('pprof top', size, mp, go && 'go tool pprof -top', go)
  results.pprofTop = { meshprof: mp, go, ratio: go ? ratio(mp.wallS, go.wallS) : null, cpuRatio: go?.cpuS ? ratio(mp.cpuS, go.cpuS) : null }
}

if (doing('folded')) {
  const f = INPUTS.folded
  const size = `${results.inputs.folded.sizeMB} MB`
  // Import alone, in-process: file read + parse into the model, best of RUNS.
  const imp = spawnSync(process.execPath, ['-e', `
    const { loadProfile } = await import(${JSON.stringify(join(root, 'dist/src/formats/index.js'))})
    let best = Infinity, cpu = 0
    for (let i = 0; i < ${RUNS}; i++) {
      const c0 = process.cpuUsage(); const t0 = performance.now()
      const p = await loadProfile(${JSON.stringify(f)})
      const ms = performance.now() - t0
      if (ms < best) { best = ms; const c = process.cpuUsage(c0); cpu = (c.user + c.system) / 1000 }
      if (p.sampleStack.length < 100000) throw new Error('expected 100k stacks')
    }
    console.log(JSON.stringify({ ms: best, cpuMs: cpu }))`], { encoding: 'utf8', input: '' })
  if (imp.status !== 0) throw new Error(`import bench failed: ${imp.stderr}`)
  const { ms, cpuMs } = JSON.parse(imp.stdout.trim().split('\n').pop())
  results.foldedImport = { wallS: +(ms / 1000).toFixed(3), cpuS: +(cpuMs / 1000).toFixed(3), mbPerS: +(results.inputs.folded.sizeMB / (ms / 1000)).toFixed(0), cpuMbPerS: +(results.inputs.folded.sizeMB / (cpuMs / 1000)).toFixed(0) }
  rows.push(['folded import (in-process)', size, results.foldedImport.wallS, results.foldedImport.cpuS, '-', '-', '-', '-', '-', `${results.foldedImport.mbPerS} MB/s`, `${results.foldedImport.cpuMbPerS} MB/s cpu`])
  const top = await run(RUNS, `${q(process.execPath)} ${q(BIN)} top ${q(f)}`)
  row('folded top (whole command)', size, top)
  results.foldedTop = { ...top, mbPerS: +(results.inputs.folded.sizeMB / top.wallS).toFixed(0) }
  const html = join(out, 'real-100k.html')
  const fg = await run(RUNS, `${q(process.execPath)} ${q(BIN)} flamegraph ${q(f)} -o ${q(html)} 2>/dev/null`)
  let pl = null
  if (FG && existsSync(join(FG, 'flamegraph.pl'))) pl = await run(REF_RUNS, `perl ${q(join(FG, 'flamegraph.pl'))} ${q(f)}`, join(out, 'real-100k.flamegraph-pl.svg'))
  row('flamegraph 100k stacks', size, fg, pl && 'flamegraph.pl', pl)
  results.flamegraph = { meshprof: fg, flamegraphPl: pl, htmlMB: +MB(statSync(html).size).toFixed(1) }
  const an = await run(RUNS, `${q(process.execPath)} ${q(BIN)} analyze ${q(f)}`)
  row('analyze 100k stacks', size, an)
  results.analyze = an
}

if (doing('startup')) {
  const head = join(out, 'real-perf-head.txt')
  const buf = readFileSync(INPUTS.perf).subarray(0, 64 << 10)
  writeFileSync(head, buf.subarray(0, buf.lastIndexOf('\n\n') + 2))
  const n = Number(process.env.BENCH_STARTUP_RUNS ?? 20)
  const times = async (cmd, args) => {
    const ms = []
    for (let i = 0; i < n; i++) {
      const r = await measure(cmd, args)
      if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.slice(-300)}`)
      ms.push(r.ms)
    }
    ms.sort((a, b) => a - b)
    return { medianMs: Math.round(ms[n >> 1]), bestMs: Math.round(ms[0]) }
  }
  // Interleaving would be fairer on a noisy host; one after the other keeps the code short, and the
  // node reference runs first and last so drift shows.
  const node0 = await times(process.execPath, ['-e', '0'])
  const version = await times(process.execPath, [BIN, '--version'])
  const fold = await times(process.execPath, [BIN, 'fold', head])
  const node1 = await times(process.execPath, ['-e', '0'])
  const bare = Math.min(node0.medianMs, node1.medianMs)
  results.startup = { runs: n, node: [node0, node1], version, fold, headKB: Math.round(statSync(head).size / 1024) }
  for (const [what, m] of [['meshprof --version', version], [`fold, first ${results.startup.headKB} KB of the perf file`, fold]]) {
    rows.push([`start-up: ${what}`, '-', `${m.medianMs} ms`, '-', '-', 'node -e 0', `${bare} ms`, '-', '-', `+${m.medianMs - bare} ms (median; best ${m.bestMs})`, '-'])
  }
}

console.log(`recorded workloads; load average ${results.loadavg.join(' ')}; best of ${RUNS} (references: ${REF_RUNS})`)
console.log(table(rows))
if (results.fold) console.log(`fold output identical to stackcollapse-perf.pl: ${results.fold.identical} (1 GB: ${results.fold.identicalOneGB})`)
// A partial run (`node bench/real.mjs fold`) keeps the other sections of the last full run.
const jsonPath = join(out, 'real.json')
const previous = only.length > 0 && existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, 'utf8')) : {}
writeFileSync(jsonPath, JSON.stringify({ ...previous, ...results }, null, 2))
console.log('BENCH_JSON ' + JSON.stringify(results))
