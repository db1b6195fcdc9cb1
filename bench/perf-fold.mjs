// Bench: `meshprof fold` on a >= 200 MB real `perf script` file vs FlameGraph's
// stackcollapse-perf.pl and `wc -l`, in the same run. Run after `npm run build`:
//
//   FLAMEGRAPH_DIR=/path/to/FlameGraph node bench/perf-fold.mjs
//
// Env: PERF_BENCH_MB (size of the generated file, default 256), PERF_BENCH_RUNS (runs per tool,
// best kept; default 3, perl 2), PERF_BENCH_1G=1 (also fold a 1 GB file and report its peak RSS).
// The input is built from the corpus's real perf recordings (perf-script/local-perf-*.txt):
// their samples are replayed with new pids/timestamps and, now and then, a changed offset or a
// frame borrowed from another sample, so there are many distinct lines and stacks, as in a long
// recording. Prints a table and one `BENCH_JSON {...}` line.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })
const MB = Number(process.env.PERF_BENCH_MB ?? 256)
const RUNS = Number(process.env.PERF_BENCH_RUNS ?? 3)
const corpus = process.env.MESHPROF_CORPUS ?? join(root, '..', 'shared', 'corpus')
const FG = process.env.FLAMEGRAPH_DIR
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const BIN = join(root, 'bin', 'meshprof.js')
const GEN_VERSION = 2

// ---- input -------------------------------------------------------------------------------------

function loadSamples() {
  const files = ['local-perf-perl-stackcollapse-F499.txt', 'local-perf-gzip-F499.txt'].map((f) => join(corpus, 'perf-script', f))
  const samples = []
  for (const f of files) {
    if (!existsSync(f)) continue
    for (const block of readFileSync(f, 'latin1').split('\n\n')) {
      const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
      if (lines.length < 2) continue
      const m = /^(\S+)\s+(\d+)\s+([\d.]+):\s+(\d+)\s+(\S+:)\s*$/.exec(lines[0])
      if (!m) continue
      samples.push({ comm: m[1], pid: Number(m[2]), period: m[4], event: m[5], frames: lines.slice(1) })
    }
  }
  if (samples.length === 0) {
    // No corpus: a synthetic but perf-shaped mix (kernel, libc, app frames).
    const syms = ['__memmove_avx_unaligned_erms+0x3a (/usr/lib/x86_64-linux-gnu/libc.so.6)', 'deflate_slow+0x1f2 (/usr/bin/gzip)', '[unknown] (/usr/bin/gzip)', 'asm_exc_page_fault+0x22 ([kernel.kallsyms])', 'handle_mm_fault+0xd0 ([kernel.kallsyms])', 'Perl_runops_standard+0x19 (/usr/bin/perl)', 'Perl_pp_match+0x8a (/usr/bin/perl)', 'main+0x4f (/usr/bin/perl)', '__libc_start_call_main+0x7a (/usr/lib/x86_64-linux-gnu/libc.so.6)']
    for (let i = 0; i < 500; i++) {
      const d = 2 + (i % 9)
      samples.push({ comm: i % 3 ? 'perl' : 'gzip', pid: 1000 + (i % 4), period: '2004008', event: 'cpu-clock:ppp:', frames: Array.from({ length: d }, (_, j) => `\t${(0x400000 + i * 64 + j).toString(16).padStart(16)} ${syms[(i * 7 + j * 3) % syms.length]}`) })
    }
  }
  return samples
}

function generate(path, bytes) {
  const samples = loadSamples()
  let seed = 12345
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const fd = openSync(path, 'w')
  let written = 0
  let t = 1000_000000
  let buf = ''
  while (written + buf.length < bytes) {
    const s = samples[Math.floor(rnd() * samples.length)]
    t += 2004 + Math.floor(rnd() * 50)
    const pid = s.pid + (Math.floor(rnd() * 8))
    let frames = s.frames
    if (rnd() < 0.3) {
      frames = frames.slice()
      const i = Math.floor(rnd() * frames.length)
      frames[i] = frames[i].replace(/\+0x[0-9a-f]+ /, () => `+0x${Math.floor(rnd() * 4096).toString(16)} `)
    }
    if (rnd() < 0.1) {
      const o = samples[Math.floor(rnd() * samples.length)]
      frames = frames.slice()
      frames.splice(Math.floor(rnd() * frames.length), 0, o.frames[Math.floor(rnd() * o.frames.length)])
    }
    const sec = Math.floor(t / 1e6)
    const usec = String(t % 1e6).padStart(6, '0')
    buf += `${s.comm} ${pid}  ${sec}.${usec}:    ${s.period} ${s.event} \n${frames.join('\n')}\n\n`
    if (buf.length > 1 << 20) {
      written += writeSync(fd, buf, null, 'latin1')
      buf = ''
    }
  }
  written += writeSync(fd, buf, null, 'latin1')
  closeSync(fd)
  return written
}

function ensureInput(name, bytes, build) {
  const path = join(out, name)
  const stamp = `${path}.v${GEN_VERSION}`
  if (existsSync(path) && existsSync(stamp) && statSync(path).size >= bytes) return path
  process.stderr.write(`generating ${path} (${Math.round(bytes / 1048576)} MB)...\n`)
  build(path)
  openSync(stamp, 'w')
  return path
}

// ---- timing ------------------------------------------------------------------------------------

/** Run a command with stdout to a file; wall time, user+sys CPU and peak RSS (via /usr/bin/time). */
function run(cmd, args, env = {}, stdoutPath = '/dev/null') {
  const fd = openSync(stdoutPath, 'w')
  const full = TIME ? [TIME, ['-f', '%e %U %S %M', cmd, ...args]] : [cmd, args]
  const t0 = process.hrtime.bigint()
  const r = spawnSync(full[0], full[1], { stdio: ['ignore', fd, 'pipe'], env: { ...process.env, ...env }, maxBuffer: 1 << 26 })
  const wall = Number(process.hrtime.bigint() - t0) / 1e9
  closeSync(fd)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr).slice(-500)}`)
  let cpu, rssMB
  if (TIME) {
    const last = String(r.stderr).trim().split('\n').pop().split(' ').map(Number)
    cpu = last[1] + last[2]
    rssMB = last[3] / 1024
  }
  return { wall, cpu, rssMB }
}

function best(n, f) {
  let b
  for (let i = 0; i < n; i++) {
    const r = f()
    if (!b || r.wall < b.wall) b = r
  }
  return b
}

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)

// ---- main --------------------------------------------------------------------------------------

const input = ensureInput(`perf-${MB}mb.txt`, MB * 1048576, (p) => generate(p, MB * 1048576))
const size = statSync(input).size
const sizeMB = size / 1048576
const rows = []
const row = (name, r, extra = {}) => {
  const o = { name, wall_s: +r.wall.toFixed(3), mb_per_s: +(sizeMB / r.wall).toFixed(1), cpu_s: r.cpu !== undefined ? +r.cpu.toFixed(2) : null, peak_rss_mb: r.rssMB !== undefined ? +r.rssMB.toFixed(0) : null, ...extra }
  rows.push(o)
  return o
}

const wc = row('wc -l', best(RUNS, () => run('wc', ['-l', input])))
const mp = row('meshprof fold (2 threads)', best(RUNS, () => run(process.execPath, [BIN, 'fold', '--drop-last', input], { MESHPROF_PERF_THREADS: '2' }, join(out, 'perf-fold.meshprof.folded'))))
const mp1 = row('meshprof fold (1 thread)', best(RUNS, () => run(process.execPath, [BIN, 'fold', '--drop-last', input], { MESHPROF_PERF_THREADS: '1' }, join(out, 'perf-fold.meshprof1.folded'))))
let perl = null
let identical = null
if (FG && existsSync(join(FG, 'stackcollapse-perf.pl'))) {
  perl = row('perl stackcollapse-perf.pl', best(Math.max(1, Math.min(RUNS, 2)), () => run('perl', [join(FG, 'stackcollapse-perf.pl'), input], {}, join(out, 'perf-fold.perl.folded'))))
  identical = sha(join(out, 'perf-fold.perl.folded')) === sha(join(out, 'perf-fold.meshprof.folded')) && sha(join(out, 'perf-fold.meshprof1.folded')) === sha(join(out, 'perf-fold.meshprof.folded'))
}

let big = null
if (process.env.PERF_BENCH_1G === '1') {
  const gb = ensureInput('perf-1gb.txt', 1024 * 1048576, (p) => {
    // 1 GB = the bench file repeated: same content shape, no new unique stacks.
    const fd = openSync(p, 'w')
    const src = readFileSync(input)
    let n = 0
    while (n < 1024 * 1048576) n += writeSync(fd, src)
    closeSync(fd)
  })
  const r = run(process.execPath, [BIN, 'fold', gb], {}, join(out, 'perf-fold.1gb.folded'))
  big = { size_mb: +(statSync(gb).size / 1048576).toFixed(0), wall_s: +r.wall.toFixed(2), mb_per_s: +(statSync(gb).size / 1048576 / r.wall).toFixed(1), peak_rss_mb: r.rssMB !== undefined ? +r.rssMB.toFixed(0) : null }
}

const ratio = (a, b) => (a && b ? +(b.wall_s / a.wall_s).toFixed(2) : null)
const summary = {
  input: { path: input, size_mb: +sizeMB.toFixed(1), lines: Number(String(spawnSync('wc', ['-l', input]).stdout).trim().split(/\s+/)[0]) },
  load_avg_1m: +(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  meshprof_mb_per_s: mp.mb_per_s,
  meshprof_1thread_mb_per_s: mp1.mb_per_s,
  perl_mb_per_s: perl ? perl.mb_per_s : 'skipped',
  speedup_vs_perl: perl ? ratio(mp, perl) : 'skipped',
  speedup_vs_perl_1thread: perl ? ratio(mp1, perl) : 'skipped',
  cpu_speedup_vs_perl: perl && perl.cpu_s && mp.cpu_s ? +(perl.cpu_s / mp.cpu_s).toFixed(2) : perl ? null : 'skipped',
  fraction_of_wc_l: +(wc.wall_s / mp.wall_s).toFixed(3),
  output_identical_to_perl: identical === null ? 'skipped' : identical,
  peak_rss_mb: mp.peak_rss_mb,
  one_gb: big ?? 'skipped (set PERF_BENCH_1G=1)',
  rows,
}

console.log(`perf script fold, ${sizeMB.toFixed(0)} MB (${summary.input.lines} lines), best of ${RUNS}; load average ${summary.load_avg_1m}`)
console.log('tool                           wall s    MB/s   cpu s  peak RSS MB')
for (const r of rows) console.log(`${r.name.padEnd(30)} ${String(r.wall_s).padStart(7)} ${String(r.mb_per_s).padStart(7)} ${String(r.cpu_s ?? '-').padStart(7)} ${String(r.peak_rss_mb ?? '-').padStart(12)}`)
if (!perl) console.log('perl stackcollapse-perf.pl     skipped (set FLAMEGRAPH_DIR to a FlameGraph checkout)')
else console.log(`meshprof vs perl: ${summary.speedup_vs_perl}x (1 thread ${summary.speedup_vs_perl_1thread}x, CPU time ${summary.cpu_speedup_vs_perl}x); output identical: ${identical}`)
console.log(`meshprof = ${summary.fraction_of_wc_l} of wc -l's speed`)
if (big) console.log(`1 GB: ${big.wall_s} s, ${big.mb_per_s} MB/s, peak RSS ${big.peak_rss_mb} MB`)
console.log('BENCH_JSON ' + JSON.stringify(summary))
