// Records the bench inputs from real workloads, the way a user's files come into being, and caches
// them under bench/out/ (gitignored). Each is made once; delete the file to record it again.
//
//   node bench/record.mjs [perf] [pprof] [folded]      (root or perf_event_paranoid <= 1 for perf)
//
// - real-perf.txt   `perf record -F 2999 -g` of a real Node HTTP service started with
//                   --perf-basic-prof (bench/workloads/service.mjs: JSON, gzip, hashing, templates)
//                   and its load generator, then `perf script`; rounds are appended until the text
//                   is >= REC_PERF_MB (default 230) MB. real-perf-1g.txt is that text repeated to
//                   1 GB (several recordings concatenated, as `cat` of a week's files would be).
// - real-datadog.pb.gz  30 s of the same service under the @datadog/pprof wall-time profiler
//                   (20 us interval, contexts and CPU time on), every sample with dd-trace's
//                   timeline labels (its own end_timestamp_ns, span ids, endpoint).
// - real-100k.folded  100,000 unique stacks folded from real recordings: rustc (Rust frames, its
//                   LLVM in C++) and g++ (cc1plus, C++) compiling bench/workloads/compile-me.*,
//                   recorded with --call-graph dwarf, plus the Node service above (JS, V8/node C++,
//                   kernel), all through `meshprof fold --all` (= stackcollapse-perf.pl --all).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
const work = join(out, 'rec')
mkdirSync(work, { recursive: true })
const BIN = join(root, 'bin', 'meshprof.js')
const SERVICE = join(here, 'workloads', 'service.mjs')
const want = process.argv.slice(2)
const doing = (k) => want.length === 0 || want.includes(k)
const log = (m) => process.stderr.write(`record: ${m}\n`)

export const INPUTS = {
  perf: join(out, 'real-perf.txt'),
  perf1g: join(out, 'real-perf-1g.txt'),
  pprof: join(out, 'real-datadog.pb.gz'),
  folded: join(out, 'real-100k.folded'),
}

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', opts.stdout ?? 'inherit', 'inherit'], maxBuffer: 1 << 30, ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`)
  return r
}

/** Start the service; resolves { child, pid, clientPid } once it listens. */
function startService(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    child.stdout.on('data', (c) => {
      buf += c
      const m = /\{"service":\{"pid":(\d+)/.exec(buf)
      if (!m) return
      const pid = Number(m[1])
      // The load generator is the service's only child; wait until it exists.
      const t0 = Date.now()
      const look = () => {
        let kids = ''
        try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() } catch { /* gone */ }
        if (kids) resolve({ child, pid, clientPid: Number(kids.split(/\s+/)[0]) })
        else if (Date.now() - t0 > 10_000) reject(new Error('service started no load generator'))
        else setTimeout(look, 50)
      }
      look()
    })
    child.on('error', reject)
    child.on('exit', (code) => { if (!/service/.test(buf)) reject(new Error(`service exited ${code}`)) })
  })
}

const exited = (child) => new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)))

async function recordPerfRound(path, seconds) {
  const svc = await startService(['--perf-basic-prof', SERVICE, '--seconds', String(seconds + 4)])
  const data = join(work, 'node.perf.data')
  sh('perf', ['record', '-q', '-F', '2999', '-g', '-p', `${svc.pid},${svc.clientPid}`, '-o', data, '--', 'sleep', String(seconds)])
  // perf script needs the /tmp/perf-PID.map files, which stay after the service exits.
  await exited(svc.child)
  const fd = openSync(path, 'a')
  sh('perf', ['script', '-i', data], { stdout: fd })
  closeSync(fd)
  rmSync(data, { force: true })
}

async function recordPerf() {
  const minBytes = Number(process.env.REC_PERF_MB ?? 230) * 1048576
  if (!existsSync(INPUTS.perf) || statSync(INPUTS.perf).size < minBytes) {
    const tmp = `${INPUTS.perf}.part`
    rmSync(tmp, { force: true })
    while (!existsSync(tmp) || statSync(tmp).size < minBytes) {
      log(`perf record -g of the Node service (${existsSync(tmp) ? Math.round(statSync(tmp).size / 1048576) : 0} MB so far)`)
      await recordPerfRound(tmp, 40)
    }
    renameSync(tmp, INPUTS.perf)
  }
  if (!existsSync(INPUTS.perf1g) || statSync(INPUTS.perf1g).size < 1024 * 1048576) {
    log('real-perf-1g.txt: the recording repeated to 1 GB')
    const src = readFileSync(INPUTS.perf)
    const fd = openSync(`${INPUTS.perf1g}.part`, 'w')
    let n = 0
    while (n < 1024 * 1048576) n += writeSync(fd, src)
    closeSync(fd)
    renameSync(`${INPUTS.perf1g}.part`, INPUTS.perf1g)
  }
}

async function recordPprof() {
  if (existsSync(INPUTS.pprof)) return
  log('30 s @datadog/pprof recording of the Node service with per-sample timeline labels')
  const svc = await startService([SERVICE, '--seconds', '30', '--pprof', `${INPUTS.pprof}.part`, '--interval-us', '20'])
  await exited(svc.child)
  renameSync(`${INPUTS.pprof}.part`, INPUTS.pprof)
}

function foldedLines(perfText, into) {
  const r = spawnSync(process.execPath, [BIN, 'fold', '--all', perfText], { maxBuffer: 1 << 30, encoding: 'latin1' })
  if (r.status !== 0) throw new Error(`meshprof fold ${perfText} failed: ${r.stderr}`)
  for (const line of r.stdout.split('\n')) {
    const sp = line.lastIndexOf(' ')
    if (sp <= 0) continue
    const stack = line.slice(0, sp)
    into.set(stack, (into.get(stack) ?? 0) + Number(line.slice(sp + 1)))
  }
}

async function recordFolded() {
  if (existsSync(INPUTS.folded)) return
  const stacks = new Map()
  if (existsSync(INPUTS.perf)) foldedLines(INPUTS.perf, stacks)
  log(`folded: ${stacks.size} unique stacks from the Node service; recording compilers`)
  const compiles = [
    ['rustc', ['--edition', '2021', '-C', 'opt-level=0', '-g', join(here, 'workloads', 'compile-me.rs'), '-o', join(work, 'cm0')]],
    ['rustc', ['--edition', '2021', '-C', 'opt-level=2', join(here, 'workloads', 'compile-me.rs'), '-o', join(work, 'cm2')]],
    ['rustc', ['--edition', '2021', '-C', 'opt-level=3', '-C', 'codegen-units=1', join(here, 'workloads', 'compile-me.rs'), '-o', join(work, 'cm3')]],
    ['g++', ['-O2', '-c', join(here, 'workloads', 'compile-me.cpp'), '-o', join(work, 'cm.o')]],
    ['g++', ['-O0', '-g', '-c', join(here, 'workloads', 'compile-me.cpp'), '-o', join(work, 'cm.o')]],
  ]
  const TARGET = 100_000
  for (let round = 0; stacks.size < TARGET * 1.02 && round < 40; round++) {
    const [cmd, args] = compiles[round % compiles.length]
    const data = join(work, 'cc.perf.data')
    const text = join(work, 'cc.perf.txt')
    sh('perf', ['record', '-q', '--call-graph', 'dwarf', '-F', '4999', '-o', data, '--', cmd, ...args])
    const fd = openSync(text, 'w')
    sh('perf', ['script', '--no-inline', '-i', data], { stdout: fd })
    closeSync(fd)
    foldedLines(text, stacks)
    log(`folded: ${stacks.size} unique stacks after ${cmd} ${args[args.indexOf('-O2')] ?? ''}(round ${round + 1})`)
  }
  rmSync(join(work, 'cc.perf.data'), { force: true })
  if (stacks.size < TARGET) throw new Error(`only ${stacks.size} unique stacks recorded`)
  // Keep exactly 100k: every stack is real; which ones are dropped is decided by a hash of the stack.
  const keys = [...stacks.keys()]
  const h = (s) => { let x = 2166136261; for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619); return x >>> 0 }
  keys.sort((a, b) => h(a) - h(b))
  const kept = keys.slice(0, TARGET).sort()
  writeFileSync(INPUTS.folded, kept.map((k) => `${k} ${stacks.get(k)}\n`).join(''), 'latin1')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (doing('perf')) await recordPerf()
  if (doing('pprof')) await recordPprof()
  if (doing('folded')) await recordFolded()
  for (const [k, p] of Object.entries(INPUTS)) if (existsSync(p)) log(`${k}: ${p} (${(statSync(p).size / 1048576).toFixed(1)} MB)`)
}
