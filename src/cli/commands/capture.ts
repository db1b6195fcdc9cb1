// `meshprof capture <pid...>`: attach to running processes (inspector, agent or perf), record one
// window for all of them, write capture files, print where they are, the hot frames and findings.
import type { CommandModule } from 'yargs'
import { existsSync } from 'node:fs'
import { join, relative, isAbsolute } from 'node:path'
import { processIo, type Io } from '../io.js'
// Heavy modules (ws, the analyzers) are imported when the command runs, not when the CLI starts.
import type { CaptureOutcome } from '../../capture/session.js'
import { BACKENDS, type Backend } from '../../capture/types.js'
import { EXIT, MeshprofError, UsageError } from '../../util/errors.js'
import type { Profile } from '../../model/types.js'
import type { Finding } from '../../analyze/index.js'
import type { RankResult } from '../../analyze/rank.js'
import { termSafe } from '../../render/style.js'

export const DEFAULT_RATE_HZ = 499
export const DEFAULT_DURATION = '15s'

/** "15s", "500ms", "2m", "1.5" (seconds) -> ms. */
export function parseDuration(s: string | number, name = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(s))
  if (!m) throw new UsageError(`--${name}: '${s}' is not a duration (examples: 15s, 500ms, 2m)`)
  const v = Number(m[1]) * ({ ms: 1, s: 1000, m: 60000, h: 3600000 } as Record<string, number>)[m[2] ?? 's']!
  if (!(v >= 100 && v <= 24 * 3600 * 1000)) throw new UsageError(`--${name}: must be between 100ms and 24h`)
  return Math.round(v)
}

export function parseRate(r: number): number {
  if (!Number.isFinite(r) || r < 1 || r > 20000) throw new UsageError('--rate: sampling frequency must be 1..20000 Hz')
  return Math.round(r)
}

export function defaultOutDir(): string {
  const d = new Date()
  const p = (n: number) => String(n).padStart(2, '0')
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`
  let dir = join('meshprof-captures', stamp)
  for (let i = 2; existsSync(dir); i++) dir = join('meshprof-captures', `${stamp}-${i}`)
  return dir
}

/** Ctrl-C once: end the window early and keep the data. Twice: leave now. */
export function interruptible(io: Io): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController()
  const onSig = () => {
    if (ac.signal.aborted) {
      io.err('\nmeshprof: interrupted again; leaving without waiting\n')
      process.exit(EXIT.INTERRUPTED)
    }
    io.err('\nmeshprof: stopping early; keeping what was captured (Ctrl-C again to quit at once)\n')
    ac.abort()
  }
  process.on('SIGINT', onSig)
  process.on('SIGTERM', onSig)
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSig)
      process.off('SIGTERM', onSig)
    },
  }
}

function rel(p: string): string {
  const r = relative(process.cwd(), p)
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p
}

function secs(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`
}

/**
 * Load what the summary needs while the window runs (meshprof is idle then), so that the summary
 * does not add seconds of module loading after the window on a busy host.
 */
export function warmSummary(): void {
  void Promise.all([
    import('../../formats/index.js'),
    import('../../model/ops.js'),
    import('../../analyze/rank.js'),
    import('../../render/top.js'),
    import('../../analyze/index.js'),
    import('../../render/findings.js'),
    import('../../formats/pprof-export.js'),
  ]).catch(() => {})
}

/** Human summary: files, per-process line, top frames, findings. */
export async function printOutcome(o: CaptureOutcome, io: Io, opts: { json?: boolean; top?: number; what?: string }): Promise<void> {
  const { loadProfiles } = await import('../../formats/index.js')
  const { mergeProfiles } = await import('../../model/ops.js')
  const { rank } = await import('../../analyze/rank.js')
  const { renderTop } = await import('../../render/top.js')
  const { analyzeProfile } = await import('../../analyze/index.js')
  const { renderFindings } = await import('../../render/findings.js')
  const st = io.style
  const ok = o.results.filter((r) => r.ok)
  // Load what was written, for top frames and findings.
  const loaded: Array<{ file: string; profiles: Profile[] }> = []
  for (const r of ok) {
    try {
      loaded.push({ file: r.captureFile!, profiles: (await loadProfiles(r.captureFile!, { format: 'capture' })).profiles })
    } catch (e) {
      r.warnings.push(`cannot read back ${rel(r.captureFile!)}: ${(e as Error).message}`)
    }
  }
  const all = loaded.flatMap((l) => l.profiles).filter((p) => p.sampleStack.length > 0)
  let ranking: RankResult | undefined
  if (all.length) {
    try {
      ranking = rank(all.length === 1 ? all[0]! : mergeProfiles(all), { by: 'function', sort: 'self', limit: opts.top ?? 10 })
    } catch (e) {
      io.err(`meshprof: warning: cannot rank the profiles: ${(e as Error).message}\n`)
    }
  }
  const findings: Array<{ file: string; name?: string; pid?: number; findings: Finding[] }> = []
  for (const l of loaded) {
    for (const p of l.profiles) {
      try {
        findings.push({ file: l.file, name: p.meta.name, pid: p.meta.pid, findings: analyzeProfile(p) })
      } catch {
        // analysis is a bonus here; `meshprof analyze` reports its own errors
      }
    }
  }

  if (opts.json) {
    io.out(JSON.stringify({
      meshprof: opts.what ?? 'capture',
      dir: o.dir,
      meshFile: o.meshFile,
      interrupted: o.interrupted,
      startSpreadMs: o.startSpreadMs,
      attachMs: o.attachMs,
      elapsedMs: o.elapsedMs,
      captures: o.results,
      top: ranking?.rows,
      findings: findings.map((f) => ({ capture: f.file, pid: f.pid, findings: f.findings })),
    }, null, 2) + '\n')
    return
  }
  const lines: string[] = []
  const spread = ok.length > 1 && o.startSpreadMs !== undefined ? `; windows started within ${Math.round(o.startSpreadMs)} ms of each other` : ''
  lines.push(st.bold(`captured ${ok.length} of ${o.results.length} process${o.results.length === 1 ? '' : 'es'} into ${rel(o.dir)}/${spread}`))
  for (const r of o.results) {
    if (!r.ok) {
      lines.push(`  ${st.red('failed')} pid ${r.pid} (${termSafe(r.name)}): ${termSafe(r.error ?? 'not captured')}`)
      continue
    }
    const cpu = r.cpuTimeNs !== undefined && r.durationMs ? `CPU ${(r.cpuTimeNs / 1e9).toFixed(2)} s (${((r.cpuTimeNs / 1e6 / r.durationMs) * 100).toFixed(0)}% of a core)` : 'CPU ?'
    const net = r.connects !== undefined ? `, ${r.connects} connects${r.alreadyConnected ? ` (${r.alreadyConnected} to already-connected peers)` : ''}` : ''
    const workers = r.workersProfiled ? `, ${r.workersProfiled} worker thread${r.workersProfiled === 1 ? '' : 's'} profiled` : ''
    lines.push(`  ${termSafe(r.name)} pid ${r.pid} via ${r.backend}: ${secs(r.durationMs)}, ${cpu}${net}${workers}${r.partial ? st.yellow(' [partial]') : ''}`)
    lines.push(st.dim(`    ${rel(r.captureFile!)}${r.profileFile ? `  ${rel(r.profileFile)}` : ''}${r.pprofFile && r.pprofFile !== r.profileFile ? `  ${rel(r.pprofFile)}` : ''}${r.nativeFile ? `  ${rel(r.nativeFile)}` : ''}`))
    if (r.unprofiledCpu) lines.push(st.yellow(`    ${termSafe(r.unprofiledCpu)}`))
    for (const w of r.warnings) lines.push(st.yellow(`    warning: ${termSafe(w)}`))
  }
  if (o.meshFile) lines.push(st.dim(`  mesh summary: ${rel(o.meshFile)}`))
  if (ranking && ranking.rows.length) {
    lines.push('')
    lines.push(renderTop(ranking, { style: st, sort: 'self', title: `hot frames${all.length > 1 ? ` (all ${all.length} processes)` : ''}` }).trimEnd())
  }
  const withFindings = findings.filter((f) => f.findings.length)
  if (withFindings.length) {
    lines.push('')
    lines.push(st.bold('findings'))
    for (const f of withFindings) {
      if (findings.length > 1) lines.push(st.bold(`== ${termSafe(f.name ?? '')} pid ${f.pid}`))
      lines.push(renderFindings(f.findings, { style: st }).trimEnd())
    }
  } else if (loaded.length) {
    lines.push('', st.dim('no findings'))
  }
  lines.push('', st.dim(`next: meshprof analyze ${rel(o.dir)}   meshprof flamegraph ${rel(ok[0]?.captureFile ?? o.dir)}`))
  io.out(lines.join('\n') + '\n')
}

/**
 * `--flamegraph [FILE]`: one command ends with a page. '' (the flag alone) = <dir>/flamegraph.html.
 * The capture is on disk already; a page that cannot be written costs exit 3, not the capture.
 */
export async function writeCaptureFlamegraph(o: CaptureOutcome, file: string | undefined, io: Io): Promise<void> {
  if (file === undefined) return
  if (!o.results.some((r) => r.ok)) {
    io.err('meshprof: nothing was captured, so no flamegraph\n')
    return
  }
  const { writeFlamegraph } = await import('../flamegraph-page.js')
  try {
    await writeFlamegraph(o.dir, file === '' ? join(o.dir, 'flamegraph.html') : file, {}, io)
  } catch (e) {
    io.err(`meshprof: flamegraph not written: ${termSafe((e as Error)?.message ?? String(e))}\n`)
    if (!process.exitCode) process.exitCode = EXIT.IO
  }
}

/** Exit code after a capture: 130 on Ctrl-C, TARGET when a target failed or exited mid-window. */
export function outcomeCode(o: CaptureOutcome): number {
  if (o.interrupted) return EXIT.INTERRUPTED
  const failed = o.results.find((r) => !r.ok)
  if (failed) return failed.errorCode ?? EXIT.TARGET
  if (o.results.some((r) => r.partial)) return EXIT.TARGET
  return EXIT.OK
}

interface CaptureArgs {
  pids?: Array<string | number>
  duration: string
  rate: number
  pgrep?: string
  output?: string
  via?: Backend
  native?: boolean
  heap?: boolean
  json?: boolean
  top: number
  'inspector-port'?: number
  flamegraph?: string
  color?: boolean
  verbose?: boolean
}

const cmd: CommandModule<object, CaptureArgs> = {
  command: 'capture [pids..]',
  describe: 'attach to running processes and record a CPU profile plus network evidence',
  builder: (y) =>
    y
      .positional('pids', { type: 'string', array: true, describe: 'process ids (Node or native)' })
      .option('duration', { alias: 'd', type: 'string', default: DEFAULT_DURATION, describe: 'window length (15s, 500ms, 2m)' })
      .option('rate', { type: 'number', default: DEFAULT_RATE_HZ, describe: 'sampling frequency, Hz' })
      .option('pgrep', { type: 'string', describe: 'also capture every process whose command line matches this regex' })
      .option('output', { alias: 'o', type: 'string', describe: 'output directory (default ./meshprof-captures/<time>/)' })
      .option('via', { choices: BACKENDS, describe: 'back-end (default: agent if the process has one, else inspector for Node, else perf)' })
      .option('native', { type: 'boolean', describe: 'Node targets: also record the same window with perf (native TLS/crypto by name)' })
      .option('heap', { type: 'boolean', describe: 'also live heap by allocation site (node-<pid>.heap.pb.gz), handles, RSS/fds/threads over the window' })
      .option('inspector-port', { type: 'number', describe: "the target's inspector port, when its command line does not say (default 9229)" })
      .option('top', { alias: 'n', type: 'number', default: 10, describe: 'hot frames to print' })
      .option('json', { type: 'boolean', describe: 'print a JSON summary instead of text' })
      .option('flamegraph', { type: 'string', describe: 'then write the flamegraph page of what was captured (FILE, default <output dir>/flamegraph.html)' })
      .example('$0 capture 4242', '15 s of pid 4242')
      .example('$0 capture 4242 4243 4244 -d 30s', 'a whole mesh, one window')
      .example("$0 capture --pgrep 'mesh-node' -o captures/", 'every process whose command line matches') as never,
  handler: async (a) => {
    const io = processIo(a)
    const pids: number[] = []
    // `capture --flamegraph 4242`: the optional FILE swallowed the pid; a pid is what was meant.
    if (a.flamegraph !== undefined && /^\d+$/.test(a.flamegraph) && !existsSync(a.flamegraph)) {
      pids.push(Number(a.flamegraph))
      a.flamegraph = ''
    }
    for (const p of a.pids ?? []) {
      const s = String(p)
      if (!/^\d+$/.test(s)) throw new UsageError(`'${termSafe(s)}' is not a process id`)
      pids.push(Number(s))
    }
    if (a.pgrep !== undefined) {
      let re: RegExp
      try {
        re = new RegExp(a.pgrep)
      } catch (e) {
        throw new UsageError(`--pgrep: invalid regular expression: ${(e as Error).message}`)
      }
      const { pgrep } = await import('../../capture/proc.js')
      const found = pgrep(re)
      if (found.length === 0 && pids.length === 0) throw new MeshprofError(`--pgrep: no process matches /${a.pgrep}/`, EXIT.TARGET)
      pids.push(...found)
    }
    if (pids.length === 0) throw new UsageError('name at least one pid, or --pgrep REGEX')
    const durationMs = parseDuration(a.duration)
    const rateHz = parseRate(a.rate)
    if (a['inspector-port'] !== undefined && !(Number.isInteger(a['inspector-port']) && a['inspector-port'] >= 0 && a['inspector-port'] < 65536)) throw new UsageError('--inspector-port: not a port number')
    const outDir = a.output ?? defaultOutDir()
    const { capture } = await import('../../capture/session.js')
    const intr = interruptible(io)
    const tty = Boolean(process.stderr.isTTY)
    let outcome: CaptureOutcome
    try {
      outcome = await capture({
        pids,
        durationMs,
        rateHz,
        outDir,
        via: a.via,
        native: a.native,
        heap: a.heap,
        inspectorPort: a['inspector-port'],
        signal: intr.signal,
        onWindowStart: warmSummary,
        log: (l) => io.err(`${tty ? '\r\x1b[K' : ''}${l}\n`),
        onCountdown: tty && !a.json ? (left) => io.err(`\r\x1b[Kmeshprof: ${Math.ceil(left / 1000)} s left (Ctrl-C stops early and keeps the data)`) : undefined,
      })
    } finally {
      intr.dispose()
      if (tty) io.err('\r\x1b[K')
    }
    await printOutcome(outcome, io, { json: a.json, top: a.top })
    for (const r of outcome.results) if (!r.ok && r.hint && !a.json) io.err(`  hint: ${r.hint}\n`)
    const code = outcomeCode(outcome)
    if (code !== 0) process.exitCode = code
    await writeCaptureFlamegraph(outcome, a.flamegraph, io)
  },
}
export default cmd
