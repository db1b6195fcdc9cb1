// The fuzz driver: generates cases, feeds them to worker threads (in-process, fast) and a sampled
// subset to the real CLI (subprocess), and checks the contract on every one: a result, or one clear
// line on stderr with a documented exit code; no stack trace, no hang, no unbounded memory.
import { Worker } from 'node:worker_threads'
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TARGETS, loadSeeds, makeCase, type FuzzCase, type Seed } from './cases.js'
import type { CaseRequest, CaseResult } from './worker.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..', '..')
const BIN = join(ROOT, 'bin', 'meshprof.js')

/** Exit codes a fuzzed input may end with (README table): success, input missing, bad input. */
export const ALLOWED_CODES: ReadonlySet<number> = new Set([0, 3, 4])

export interface FuzzOptions {
  seed: number
  /** Stop after this many cases... */
  cases: number
  /** ...or after this many seconds, whichever comes first. */
  seconds: number
  /** Run only this case (reproduce a failure). */
  only?: number
  jobs: number
  /** Per-case wall-clock bound in ms; past it the worker is terminated and the case is a hang. */
  timeoutMs: number
  /** V8 old-generation bound per worker (MB); a case that needs more fails. */
  heapMb: number
  /** Bound on the whole process's RSS (MB), sampled every 100 ms while cases run. */
  maxRssMb: number
  /** Every Nth case also runs through the real CLI as a subprocess (0 = none). */
  cliEvery: number
  failDir: string
  corpus?: string
  /** Print a progress line every N cases (0 = never). */
  progressEvery?: number
  /** Harness self-test: case index -> misbehaviour the worker acts out instead of the case. */
  probes?: Record<number, NonNullable<CaseRequest['probe']>>
  log: (line: string) => void
}

export interface Failure {
  index: number
  target: string
  seed: string
  mutations: string[]
  via: 'in-process' | 'cli'
  why: string
  dir: string
}

export interface FuzzSummary {
  seed: number
  cases: number
  cliCases: number
  seconds: number
  seeds: number
  /** target -> outcome (exit code, hang, ...) -> count. */
  byTarget: Record<string, Record<string, number>>
  byMutation: Record<string, number>
  /** exit 4 reached only through the CLI's RangeError fallback (stack overflow, too large). */
  rangeErrorFallbacks: number
  nonFiniteTotals: Array<{ index: number; seed: string; detail: string }>
  failures: Failure[]
  slowest: Array<{ index: number; target: string; ms: number }>
  peakRssMb: number
}

/** Why a result breaks the contract, or undefined when it keeps it. */
export function contractBreach(code: number | null, stderr: string, signal?: string | null): string | undefined {
  if (signal) return `killed by ${signal}`
  if (code === null || !ALLOWED_CODES.has(code)) return `exit code ${code} (allowed: ${[...ALLOWED_CODES].join(', ')})`
  if (/^\s+at .+/m.test(stderr) || /\n\s+at /.test(stderr)) return 'stack trace on stderr'
  if (/internal error/i.test(stderr)) return 'internal error reported'
  const lines = stderr.split('\n').filter((l) => l.length > 0)
  if (lines.some((l) => !l.startsWith('meshprof: ') && !l.startsWith('  hint: '))) return 'stderr line not from meshprof'
  if (code !== 0) {
    if (lines.length === 0) return `exit ${code} with nothing on stderr`
    if (lines.length > 2 || (lines.length === 2 && !lines[1]!.startsWith('  hint: '))) return `exit ${code} with ${lines.length} stderr lines`
  }
  return undefined
}

function bump(m: Record<string, number>, k: string, n = 1): void {
  m[k] = (m[k] ?? 0) + n
}

interface Slot {
  worker: Worker
  ready: Promise<void>
  busy?: { req: CaseRequest; c: FuzzCase; timer: NodeJS.Timeout; resolve: (r: CaseResult | { dead: string }) => void }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const seeds: Seed[] = await loadSeeds(o.corpus)
  const work = mkdtempSync(join(tmpdir(), 'meshprof-fuzz-'))
  const summary: FuzzSummary = {
    seed: o.seed, cases: 0, cliCases: 0, seconds: 0, seeds: seeds.length, byTarget: {}, byMutation: {}, rangeErrorFallbacks: 0,
    nonFiniteTotals: [], failures: [], slowest: [], peakRssMb: 0,
  }
  const t0 = performance.now()
  const deadline = t0 + o.seconds * 1000
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 100)
  // Cases in flight -> the highest RSS past the bound seen while they ran. RSS is the whole process
  // (workers included), so every case in flight when it crosses the bound is blamed; a case that
  // starts while RSS is still over it (memory not yet returned) is not: it gets -1.
  const inFlight = new Map<number, number>()
  const rssWatch = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > o.maxRssMb * 1048576) for (const [i, r] of inFlight) if (r >= 0) inFlight.set(i, Math.max(r, rss))
  }, 100)

  const fail = (c: FuzzCase, via: Failure['via'], why: string, stderr = ''): void => {
    const dir = join(o.failDir, `seed-${o.seed}-case-${c.index}`)
    mkdirSync(dir, { recursive: true })
    for (const [n, b] of Object.entries(c.files)) writeFileSync(join(dir, n), b)
    writeFileSync(join(dir, 'case.json'), JSON.stringify({ seed: o.seed, index: c.index, target: c.target.id, from: c.seed, mutations: c.mutations, main: c.main, other: c.other, via, why, stderr, reproduce: `npm run fuzz -- --seed ${o.seed} --case ${c.index}` }, null, 1) + '\n')
    summary.failures.push({ index: c.index, target: c.target.id, seed: c.seed, mutations: c.mutations, via, why, dir })
    o.log(`FAIL case ${c.index} (seed ${o.seed}) ${c.target.id} on ${c.seed} [${c.mutations.join(', ')}] ${via}: ${why}${stderr ? ` | ${stderr.trim().split('\n')[0]!.slice(0, 200)}` : ''}`)
    o.log(`  input written to ${dir}; reproduce: npm run fuzz -- --seed ${o.seed} --case ${c.index}`)
  }

  const workerUrl = new URL('./worker.js', import.meta.url)
  const slots: Slot[] = []
  let closing = false
  const spawnWorker = (slot: Partial<Slot>): Slot => {
    const w = new Worker(workerUrl, { resourceLimits: { maxOldGenerationSizeMb: o.heapMb, maxYoungGenerationSizeMb: 64, stackSizeMb: 1 }, stdout: true, stderr: true })
    slot.worker = w
    slot.ready = new Promise((res) => w.once('message', () => res()))
    // The case in flight on THIS worker ends with `r`; a replaced worker's events are ignored.
    const settle = (r: CaseResult | { dead: string }): void => {
      const s = slot as Slot
      if (s.worker !== w || !s.busy) return
      const b = s.busy
      s.busy = undefined
      clearTimeout(b.timer)
      b.resolve(r)
    }
    let died = ''
    w.on('message', (m: { type: string; result?: CaseResult; index?: number; error?: string }) => {
      if (m.type === 'result' && slot.busy?.req.index === m.result!.index) settle(m.result!)
      else if (m.type === 'late') lateErrors.push({ index: m.index!, error: m.error! })
    })
    w.on('error', (e: Error & { code?: string }) => {
      died = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `heap grew past ${o.heapMb} MB` : `worker died: ${e.message}`
    })
    w.on('exit', () => {
      if (slot.worker !== w || closing) return
      const s = slot as Slot
      const b = s.busy
      s.busy = undefined
      // Replace the dead worker first, so the next case has somewhere to run.
      spawnWorker(slot)
      if (b) {
        clearTimeout(b.timer)
        b.resolve({ dead: died || 'worker exited (process.exit called?)' })
      }
    })
    return slot as Slot
  }
  const lateErrors: Array<{ index: number; error: string }> = []
  const casesByIndex = new Map<number, FuzzCase>()
  for (let k = 0; k < o.jobs; k++) slots.push(spawnWorker({}))

  // A bomb is inflated to the guard's 256 MB floor before it is refused: seconds of honest work.
  const caseTimeout = (c: FuzzCase): number => (c.mutations.includes('gzip-bomb') ? o.timeoutMs * 6 : o.timeoutMs)
  const runInWorker = async (slot: Slot, c: FuzzCase, dir: string): Promise<CaseResult | { dead: string }> => {
    await slot.ready
    const req: CaseRequest = { index: c.index, dir, target: c.target.id, main: c.main, other: c.other, probe: o.probes?.[c.index] }
    const timeoutMs = caseTimeout(c)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!slot.busy) return
        slot.busy = undefined
        const w = slot.worker
        spawnWorker(slot)
        void w.terminate()
        resolve({ dead: `no result within ${timeoutMs} ms (hang)` })
      }, timeoutMs)
      slot.busy = { req, c, timer, resolve }
      slot.worker.postMessage(req)
    })
  }

  // Subprocess runs go through one queue so they do not crowd out the workers.
  let cliChain: Promise<void> = Promise.resolve()
  const runCli = (c: FuzzCase, dir: string, inProcessCode: number | undefined): Promise<void> => {
    const t = c.target
    // Importer targets go through `top` (the loader, then the cheapest command); the detect(stdin)
    // target always reads stdin, the others half of the time (single-file inputs only).
    const single = Object.keys(c.files).length === 2
    const viaStdin = single && (t.kind === 'import' ? t.via === 'buffer' : Math.floor(c.index / Math.max(1, o.cliEvery)) % 2 === 0)
    const input = viaStdin ? '-' : join(dir, c.main)
    const args = t.kind === 'cmd' ? t.args(input, join(dir, c.other), dir) : ['top', ...(t.format ? ['--format', t.format] : []), input]
    // Same command on the same file: the exit code must be the in-process one.
    const compareWith = t.kind === 'cmd' && !viaStdin ? inProcessCode : undefined
    const limitMs = caseTimeout(c) * 3
    cliChain = cliChain.then(() => new Promise<void>((done) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', MESHPROF_DEBUG: '' }, stdio: ['pipe', 'ignore', 'pipe'] })
      let err = ''
      child.stderr.on('data', (d: Buffer) => { if (err.length < 16384) err += d.toString('utf8') })
      const timer = setTimeout(() => child.kill('SIGKILL'), limitMs)
      child.stdin.on('error', () => {})
      child.stdin.end(viaStdin ? c.files[c.main] : undefined)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        summary.cliCases++
        const tag = `cli${viaStdin ? ' (stdin)' : ''}`
        bump(summary.byTarget[`${t.id} [${tag}]`] ??= {}, signal === 'SIGKILL' ? 'hang' : `exit ${code}`)
        let why = contractBreach(code, err, signal === 'SIGKILL' ? `SIGKILL after ${limitMs} ms (hang)` : signal)
        if (!why && compareWith !== undefined && code !== compareWith) why = `CLI exit ${code} but in-process ${compareWith}`
        if (why) fail(c, 'cli', why, err)
        done()
      })
    }))
    return cliChain
  }

  const runOne = async (slot: Slot, index: number): Promise<void> => {
    let c: FuzzCase
    try {
      c = makeCase(o.seed, index, seeds)
    } catch (e) {
      // A bug in the fuzzer itself: reported like a failure (it hides cases), never a crash.
      summary.failures.push({ index, target: '(generator)', seed: '', mutations: [], via: 'in-process', why: `case generator: ${(e as Error).message}`, dir: '' })
      o.log(`FAIL case ${index} (seed ${o.seed}): the case generator threw: ${(e as Error).message}`)
      return
    }
    casesByIndex.set(index, c)
    const dir = join(work, `c${index}`)
    mkdirSync(dir)
    for (const [n, b] of Object.entries(c.files)) writeFileSync(join(dir, n), b)
    for (const m of c.mutations) bump(summary.byMutation, m.replace(/@.*/, ''))
    inFlight.set(index, process.memoryUsage.rss() > o.maxRssMb * 1048576 ? -1 : 0)
    const r = await runInWorker(slot, c, dir)
    const rssBreach = inFlight.get(index)!
    inFlight.delete(index)
    const counts = (summary.byTarget[c.target.id] ??= {})
    summary.cases++
    if (o.progressEvery && summary.cases % o.progressEvery === 0) o.log(`... ${summary.cases} cases in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${summary.failures.length} failures`)
    let code: number | undefined
    if ('dead' in r) {
      bump(counts, r.dead.includes('hang') ? 'hang' : 'died')
      fail(c, 'in-process', r.dead)
    } else {
      code = r.code
      bump(counts, `exit ${r.code}`)
      if (r.code === 4 && /too large or too deep to process/.test(r.stderr)) summary.rangeErrorFallbacks++
      if (r.badTotal) summary.nonFiniteTotals.push({ index, seed: c.seed, detail: r.badTotal })
      const why = r.uncaught.length ? `uncaught: ${r.uncaught[0]}` : rssBreach > 0 ? `RSS ${Math.round(rssBreach / 1048576)} MB past ${o.maxRssMb} MB` : contractBreach(r.code, r.stderr)
      if (why) fail(c, 'in-process', why, r.stderr)
      summary.slowest.push({ index, target: c.target.id, ms: Math.round(r.ms) })
      if (summary.slowest.length > 50) summary.slowest = summary.slowest.sort((a, b) => b.ms - a.ms).slice(0, 10)
    }
    if (o.cliEvery > 0 && (index % o.cliEvery === Math.floor(o.cliEvery / 2) || o.only !== undefined)) await runCli(c, dir, code)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    if (o.only !== undefined) {
      await runOne(slots[0]!, o.only)
    } else {
      let next = 0
      await Promise.all(slots.map(async (slot) => {
        while (next < o.cases && performance.now() < deadline) {
          const index = next++
          await runOne(slot, index)
        }
      }))
    }
    await cliChain
    // Errors that surfaced after a case had already reported (a stream failing late).
    for (const l of lateErrors) {
      const c = casesByIndex.get(l.index)
      if (c) fail(c, 'in-process', `uncaught after the result: ${l.error}`)
    }
  } finally {
    clearInterval(rssTimer)
    clearInterval(rssWatch)
    closing = true
    await Promise.all(slots.map((s) => s.worker.terminate()))
    rmSync(work, { recursive: true, force: true })
  }
  summary.seconds = (performance.now() - t0) / 1000
  summary.slowest = summary.slowest.sort((a, b) => b.ms - a.ms).slice(0, 5)
  summary.peakRssMb = Math.round(peakRss / 1048576)
  return summary
}

/** The summary as the lines `npm run fuzz` prints. */
export function formatSummary(s: FuzzSummary): string {
  const out: string[] = []
  out.push(`fuzz seed ${s.seed}: ${s.cases} cases in-process + ${s.cliCases} through the CLI in ${s.seconds.toFixed(1)} s (${(s.cases / s.seconds).toFixed(0)} cases/s), ${s.seeds} seed inputs, peak RSS ${s.peakRssMb} MB`)
  const order = [...TARGETS.map((t) => t.id)]
  const keys = Object.keys(s.byTarget).sort((a, b) => {
    const ia = order.indexOf(a.replace(/ \[cli.*\]$/, ''))
    const ib = order.indexOf(b.replace(/ \[cli.*\]$/, ''))
    return ia - ib || a.localeCompare(b)
  })
  const w = Math.max(...keys.map((k) => k.length), 10)
  for (const k of keys) {
    const c = s.byTarget[k]!
    const n = Object.values(c).reduce((x, y) => x + y, 0)
    out.push(`  ${k.padEnd(w)} ${String(n).padStart(6)}  ${Object.entries(c).sort().map(([o, v]) => `${o}: ${v}`).join(', ')}`)
  }
  out.push(`mutations: ${Object.entries(s.byMutation).sort((a, b) => b[1] - a[1]).map(([m, n]) => `${m} ${n}`).join(', ')}`)
  out.push(`exit 4 via the RangeError fallback (too large / too deep): ${s.rangeErrorFallbacks}`)
  if (s.nonFiniteTotals.length) out.push(`loaded with a non-finite total: ${s.nonFiniteTotals.length} (e.g. case ${s.nonFiniteTotals[0]!.index}, ${s.nonFiniteTotals[0]!.seed})`)
  out.push(`slowest: ${s.slowest.map((x) => `case ${x.index} ${x.target} ${x.ms} ms`).join('; ')}`)
  out.push(s.failures.length ? `${s.failures.length} FAILURES (inputs in ${dirname(s.failures[0]!.dir)})` : 'no contract failures')
  return out.join('\n')
}

