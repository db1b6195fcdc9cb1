// `meshprof capture`: resolve the targets (nothing is sent to any process before every pid checks
// out), attach them (concurrently, one at a time per shared inspector port), start every window at
// once, stop them together, collect what a blocked event loop did not hand over through the
// inspector, write the raw data, then the capture files.
import { mkdirSync, accessSync, constants as fsc } from 'node:fs'
import { join, basename } from 'node:path'
import { CaptureError, EXIT, MeshprofError } from '../util/errors.js'
import type { NetworkEvidence } from '../model/types.js'
import { cpuTimeNs, threadCpuDelta, threadCpuTimes, isNodeExecutable, isStopped, pidExists, readProcess, stillSameProcess, unixSocketPaths, type ProcessInfo } from './proc.js'
import { ProbeChannel, ProbeConnection, connectAgent } from './channel.js'
import { attachInspector, rescueInspector } from './inspector.js'
import { checkPerf, perfError, PerfRecording, type PerfCheck } from './perf.js'
import { ProcNetSampler } from './netsample.js'
import { ProcMemorySampler } from './procmem.js'
import { writeCaptureFiles, writeMeshFile, type WrittenCapture } from './output.js'
import type { Backend } from './types.js'
import { within } from '../util/wait.js'

export interface CaptureOptions {
  pids: number[]
  durationMs: number
  rateHz: number
  outDir: string
  via?: Backend
  native?: boolean
  /** Also live heap by allocation site, handles, RSS/fds/threads over the window (heap.ts). */
  heap?: boolean
  inspectorPort?: number
  /** Aborted by Ctrl-C: before the window, nothing is captured; during it, the window ends early. */
  signal?: AbortSignal
  /** Progress lines (stderr). */
  log?: (line: string) => void
  /** Called about once a second during the window with the time left. */
  onCountdown?: (leftMs: number) => void
  /** Called once when the windows have started. */
  onWindowStart?: () => void
}

export interface TargetResult extends Partial<WrittenCapture> {
  pid: number
  name: string
  command: string
  backend: Backend
  /** A capture file was written. */
  ok: boolean
  partial: boolean
  error?: string
  errorCode?: number
  hint?: string
  warnings: string[]
}

export interface CaptureOutcome {
  dir: string
  results: TargetResult[]
  meshFile?: string
  interrupted: boolean
  /** Largest difference between the window starts of two targets, ms. */
  startSpreadMs?: number
  /** ms from the first signal to the last attach. */
  attachMs: number
  /** ms from the start of the capture to its files written (the CLI's start-up and summary not included). */
  elapsedMs?: number
}

interface Target {
  info: ProcessInfo
  backend: Backend
  name: string
  agentSocket?: string
  conn?: ProbeConnection
  /** Inspector: the probe's connection back to meshprof, once its event loop turns. */
  connP?: Promise<ProbeConnection | undefined>
  /** Inspector: when the probe started the profiler (at attach). */
  profileStartEpochMs?: number
  /** Inspector: the attach interrupted running JavaScript. */
  interrupted?: boolean
  perf?: PerfRecording
  nativePerf?: PerfRecording
  sampler?: ProcNetSampler
  memory?: ProcMemorySampler
  cpu0?: number
  /** Per-thread CPU at the window start and end (/proc/<pid>/task). */
  threads0?: ReturnType<typeof threadCpuTimes>
  threads1?: ReturnType<typeof threadCpuTimes>
  startEpochMs?: number
  stopEpochMs?: number
  exitedMidWindow?: string
  error?: MeshprofError
  warnings: string[]
}

const AGENT_SOCKET_RE = /\/meshprof-agent-\d+\/agent-(\d+)\.sock$/

export function findAgentSocket(pid: number): string | undefined {
  try {
    return unixSocketPaths(pid).find((p) => AGENT_SOCKET_RE.exec(p)?.[1] === String(pid))
  } catch {
    return undefined
  }
}

/** A file-name-safe short name for the process: its title, else its comm. */
export function processName(info: ProcessInfo): string {
  const raw = info.argv.length === 1 && info.argv[0] ? basename(info.argv[0].trim().split(/\s+/)[0] ?? '') : info.comm
  const s = raw.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 40)
  return s || 'process'
}

/** Check one pid and choose its back-end. Sends nothing to the process. */
export function resolveTarget(pid: number, via: Backend | undefined, perf: () => PerfCheck): Target {
  if (pid === process.pid) throw new CaptureError(`pid ${pid} is meshprof itself`, EXIT.USAGE)
  const info = readProcess(pid)
  const isNode = isNodeExecutable(info.exe)
  const agentSocket = isNode ? findAgentSocket(pid) : undefined
  const backend: Backend = via ?? (agentSocket ? 'agent' : isNode ? 'inspector' : 'perf')
  const what = `pid ${pid} (${info.comm || '?'})`
  if (backend === 'inspector' && !isNode) {
    throw new CaptureError(`${what} is not a Node.js process (${info.exe || 'executable unknown'}); refusing to send it SIGUSR1`, EXIT.TARGET, 'use --via perf for native processes')
  }
  if (backend === 'agent' && !agentSocket) {
    throw new CaptureError(`${what} has no meshprof agent socket`, EXIT.TARGET, 'start it with node --require meshprof/agent (or meshprof run), or use --via inspector')
  }
  if (backend === 'perf') {
    const c = perf()
    if (!c.ok) throw perfError(c, isNode ? `${what}: cannot profile with perf` : `${what} is not a Node.js process and cannot be profiled natively`)
  }
  return { info, backend, name: processName(info), agentSocket, warnings: [] }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/**
 * How long after the attaches the probes get to connect back before their loops count as blocked:
 * short when the attach interrupted running JavaScript, long when it ran from an idle event loop
 * (which is turning, so its probe connects unless the host is starved).
 */
export const CONNECT_BACK_MS = { interrupted: 300, idle: 5000 }
/** How long a probe gets to hand its data over after `stop` before it is collected through the inspector. */
export const STOP_WAIT_MS = 1500

/**
 * Collect an inspector target's data through its inspector (its event loop did not hand it over),
 * or explain why not. Safe to call when the probe already handed everything over (it returns nothing).
 */
async function rescue(t: Target, inspectorPort: number | undefined, log: (l: string) => void): Promise<void> {
  const pid = t.info.pid
  if (!stillSameProcess(pid, t.info.startTicks)) return
  if (isStopped(pid)) {
    // A signal to a stopped process acts when it resumes, after meshprof is gone: send nothing.
    t.warnings.push(`pid ${pid} is stopped (SIGSTOP or a tracer): its CPU profile could not be collected and nothing was sent to it; the probe drops its data when the process resumes`)
    log(`meshprof: pid ${pid} (${t.name}) is stopped: its CPU profile stays in it`)
    return
  }
  try {
    const r = await rescueInspector(t.info, { port: inspectorPort })
    t.warnings.push(...r.warnings)
    if (r.lines) {
      t.conn ??= ProbeConnection.detached(pid)
      t.conn.feed(r.lines)
    }
  } catch (e) {
    t.warnings.push(`the event loop did not hand the data over and the inspector could not collect it: ${asMeshprofError(e).message}`)
  }
}

function asMeshprofError(e: unknown): MeshprofError {
  if (e instanceof MeshprofError) return e
  return new CaptureError((e as Error)?.message ?? String(e))
}

// Longer than ~150 lines, as numbered phases (1. check every pid before anything is sent, 2. attach,
// 3. start all windows at once, 4. the window, 5. stop and collect, then write): the phases share the
// attach state (channels, the interrupted / window-closed flags, `abandon`), and the order of sending
// nothing before every pid checks out is easiest to see — and to keep — in one place.
export async function capture(opts: CaptureOptions): Promise<CaptureOutcome> {
  const log = opts.log ?? (() => {})
  const T0 = Date.now()
  const dbg = (m: string) => { if (process.env.MESHPROF_DEBUG) process.stderr.write(`meshprof: capture +${Date.now() - T0} ms ${m}\n`) }
  const pids = [...new Set(opts.pids)]
  if (pids.length === 0) throw new CaptureError('no process to capture', EXIT.USAGE)
  let perfCheck: PerfCheck | undefined
  const perf = (): PerfCheck => (perfCheck ??= checkPerf())

  // 1. Every pid must check out before anything is sent to any of them.
  const targets = pids.map((pid) => resolveTarget(pid, opts.via, perf))
  if (opts.native && targets.some((t) => t.backend !== 'perf')) {
    const c = perf()
    if (!c.ok) throw perfError(c, '--native')
  }
  try {
    mkdirSync(opts.outDir, { recursive: true })
    accessSync(opts.outDir, fsc.W_OK)
  } catch (e) {
    throw new MeshprofError(`cannot write to ${opts.outDir}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`, EXIT.IO)
  }

  // 2. Attach: targets on distinct inspector ports (or agents) at the same time, those sharing a
  //    port one after the other (inspector.ts serialises them).
  const channels = new Map<number, Promise<ProbeChannel>>()
  const channelFor = (uid: number): Promise<ProbeChannel> => {
    const key = process.getuid?.() === 0 && uid !== 0 ? uid : -1
    let ch = channels.get(key)
    if (!ch) {
      ch = ProbeChannel.open(key >= 0 ? key : undefined)
      channels.set(key, ch)
    }
    return ch
  }
  const attachStart = Date.now()
  let interrupted = false
  let windowClosed = false
  const closeChannels = () => {
    for (const ch of channels.values()) ch.then((c) => c.close(), () => {})
  }
  /** Before any window: close what connected, and stop the profilers of probes whose loop never turned. */
  const abandon = async () => {
    windowClosed = true
    await Promise.all(targets.map(async (t) => {
      t.conn?.close()
      if (t.profileStartEpochMs !== undefined && !t.conn) {
        const conn = await Promise.race([t.connP, sleep(0).then(() => undefined)])
        if (conn) conn.close()
        else await rescue(t, opts.inspectorPort, () => {})
      }
    }))
    closeChannels()
  }
  const attachOne = async (t: Target): Promise<void> => {
    if (opts.signal?.aborted) {
      interrupted = true
      return
    }
    try {
      if (t.backend === 'agent' && opts.via !== 'agent') {
        try {
          t.conn = await connectAgent(t.agentSocket!)
        } catch (e) {
          // An agent whose event loop is blocked cannot answer on its socket; the inspector can.
          if (!/did not answer/.test((e as Error).message)) throw e
          t.warnings.push(`its meshprof agent did not answer within 3 s (event loop blocked?): captured through the inspector instead`)
          log(`meshprof: pid ${t.info.pid}: its agent did not answer (event loop blocked?); using the inspector`)
          t.backend = 'inspector'
        }
      }
      if (t.backend === 'inspector') {
        const ch = await channelFor(t.info.uid)
        const a = await attachInspector(t.info, ch, { port: opts.inspectorPort, log, durationMs: opts.durationMs, rateHz: opts.rateHz })
        t.profileStartEpochMs = a.profileStartEpochMs
        t.interrupted = a.interrupted
        t.warnings.push(...a.warnings)
        t.connP = ch.expect(t.info.pid, opts.durationMs + 60000)
        t.connP.then((c) => {
          if (!c) return
          if (windowClosed) {
            c.close()
          } else if (!t.conn) {
            t.conn = c
            // The loop turned after the others' windows started: keep the profile running since attach.
            if (started) c.start(opts.durationMs, opts.rateHz, true, opts.heap)
          }
        })
      } else if (t.backend === 'agent' && !t.conn) {
        try {
          t.conn = await connectAgent(t.agentSocket!)
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code
          throw new CaptureError(`pid ${t.info.pid}: cannot reach its meshprof agent at ${t.agentSocket}: ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`)
        }
        if (t.conn.errors.length) throw new CaptureError(`pid ${t.info.pid}: agent: ${t.conn.errors[0]}`)
      }
    } catch (e) {
      t.error = asMeshprofError(e)
      if (targets.length > 1) log(`meshprof: ${t.error.message}`)
    }
  }
  let started = false
  await Promise.all(targets.map(attachOne))
  const attachMs = Date.now() - attachStart
  dbg('attached')
  if (targets.length === 1 && targets[0]!.error) {
    await abandon()
    throw targets[0]!.error
  }
  if (interrupted || opts.signal?.aborted) {
    await abandon()
    return { dir: opts.outDir, results: targets.map((t) => result(t, false, 'interrupted before the window started')), interrupted: true, attachMs }
  }
  const live = targets.filter((t) => !t.error)
  if (live.length === 0) {
    await abandon()
    const first = targets[0]!.error!
    throw new CaptureError(`no process could be attached (${targets.length}); first error: ${first.message}`, first.exitCode, first.hint)
  }
  // The probes connect back as soon as their event loops turn; a loop that does not turn within
  // CONNECT_BACK_MS is blocked, and its profile (running since attach) is collected at the end.
  await Promise.all(live.filter((t) => t.connP && !t.conn).map((t) => within(t.connP!, CONNECT_BACK_MS[t.interrupted ? 'interrupted' : 'idle'])))
  dbg('connected back')

  // 3. Start every window at once. perf first attaches with its events disabled (it can take a
  //    second on a busy host), then the probes start and perf is enabled together.
  for (const t of live) {
    const pid = t.info.pid
    if (t.backend === 'perf' || opts.native) {
      const data = join(opts.outDir, `.${t.backend === 'perf' ? 'native' : 'node'}-${pid}.perf.data`)
      const rec = new PerfRecording(pid, data, opts.rateHz, perf().event)
      if (t.backend === 'perf') t.perf = rec
      else t.nativePerf = rec
    }
  }
  await Promise.all(live.map(async (t) => {
    for (const rec of [t.perf, t.nativePerf]) {
      if (!rec) continue
      if (!(await rec.waitReady())) {
        const pr = rec.problem() ?? { message: `perf did not start for pid ${t.info.pid}` }
        if (rec === t.perf) t.error = new CaptureError(pr.message, EXIT.TOOL, pr.hint)
        else t.warnings.push(`--native: ${pr.message}${pr.hint ? ` (${pr.hint})` : ''}`)
        await rec.stop()
        if (rec === t.nativePerf) t.nativePerf = undefined
      }
    }
  }))
  if (targets.length === 1 && targets[0]!.error) {
    await abandon()
    throw targets[0]!.error
  }
  started = true
  for (const t of live) {
    if (t.conn && !t.error) t.conn.start(opts.durationMs, opts.rateHz, false, opts.heap)
    if (opts.heap && !t.error) (t.memory = new ProcMemorySampler(t.info.pid)).start()
  }
  await Promise.all(live.filter((t) => !t.error).map(async (t) => {
    if (t.perf) {
      await t.perf.enable()
      t.cpu0 = cpuTimeNs(t.info.pid)
      t.startEpochMs = t.perf.startedAt
      t.sampler = new ProcNetSampler(t.info.pid)
      t.sampler.start()
    }
    if (t.nativePerf) await t.nativePerf.enable()
    if (t.conn) {
      const ok = await t.conn.waitStarted(5000)
      if (ok) t.startEpochMs = t.conn.startedEpochMs
      else if (t.profileStartEpochMs !== undefined) t.startEpochMs = t.profileStartEpochMs // loop blocked since: collected at the end
      else t.error = new CaptureError(`pid ${t.info.pid}: the profiler did not start${t.conn.errors.length ? `: ${t.conn.errors[0]}` : t.conn.isClosed ? ' (the process went away)' : ''}`)
    } else if (t.profileStartEpochMs !== undefined) {
      t.startEpochMs = t.profileStartEpochMs
      log(`meshprof: pid ${t.info.pid} (${t.name}): its event loop is blocked; the CPU profile runs through the inspector, network evidence waits for the loop`)
    }
    t.threads0 = threadCpuTimes(t.info.pid)
  }))
  const running = live.filter((t) => !t.error)
  const starts = running.map((t) => t.startEpochMs!).filter((x) => Number.isFinite(x))
  const windowStart = starts.length ? Math.min(...starts) : Date.now()
  const startSpreadMs = starts.length ? Math.max(...starts) - Math.min(...starts) : undefined
  if (running.length) log(`meshprof: capturing ${running.length} process${running.length === 1 ? '' : 'es'} for ${(opts.durationMs / 1000).toFixed(opts.durationMs % 1000 ? 1 : 0)} s`)

  dbg('window started')
  opts.onWindowStart?.()
  // 4. The window.
  const endAt = windowStart + opts.durationMs
  let lastTick = 0
  const gone = (t: Target): boolean => {
    // Inspector targets: the probe's socket may drop while the process lives on (its data is then
    // collected through the inspector at the end).
    if (t.profileStartEpochMs !== undefined) return !stillSameProcess(t.info.pid, t.info.startTicks) || (t.conn?.end !== undefined && /exiting/.test(t.conn.end.reason))
    if (t.conn) return t.conn.isClosed || (t.conn.end !== undefined && /exiting/.test(t.conn.end.reason))
    if (t.perf) return !t.perf.running || !stillSameProcess(t.info.pid, t.info.startTicks)
    return true
  }
  while (Date.now() < endAt && running.length) {
    if (opts.signal?.aborted) {
      interrupted = true
      break
    }
    for (const t of running) {
      if (!t.exitedMidWindow && gone(t)) {
        t.exitedMidWindow = `pid ${t.info.pid} (${t.name}) exited ${((Date.now() - (t.startEpochMs ?? windowStart)) / 1000).toFixed(1)} s into the window: partial capture kept`
        log(`meshprof: ${t.exitedMidWindow}`)
      }
    }
    if (running.every((t) => t.exitedMidWindow)) break
    const left = endAt - Date.now()
    if (opts.onCountdown && Date.now() - lastTick >= 1000) {
      lastTick = Date.now()
      opts.onCountdown(left)
    }
    await sleep(Math.min(100, Math.max(1, left)))
  }

  // 5. Stop everything together; what a blocked event loop does not hand over is collected
  //    through the inspector.
  const stopAt = Date.now()
  dbg('window ended')
  windowClosed = true
  for (const t of running) {
    t.stopEpochMs = stopAt
    if (t.threads0?.size) t.threads1 = threadCpuTimes(t.info.pid)
    if (t.conn && !t.conn.end && !t.conn.isClosed) t.conn.stop()
  }
  const network = new Map<Target, NetworkEvidence>()
  for (const t of running) if (t.sampler) network.set(t, t.sampler.stop())
  for (const t of running) t.memory?.stop()
  const perfs = running.flatMap((t) => [t.perf, t.nativePerf].filter((p): p is PerfRecording => p !== undefined))
  await Promise.all([
    ...running.filter((t) => t.conn || t.profileStartEpochMs !== undefined).map(async (t) => {
      if (t.conn) await t.conn.waitEnd(t.profileStartEpochMs !== undefined ? STOP_WAIT_MS : 5000)
      if (t.profileStartEpochMs !== undefined && !t.conn?.end) await rescue(t, opts.inspectorPort, log)
    }),
    ...perfs.map((p) => p.stop()),
  ])
  for (const t of running) {
    if (t.conn && !t.conn.end && !t.exitedMidWindow) {
      t.exitedMidWindow = pidExists(t.info.pid)
        ? `pid ${t.info.pid} (${t.name}) did not hand over its data${t.conn.errors.length ? `: ${t.conn.errors[0]}` : ''}: partial capture kept`
        : `pid ${t.info.pid} (${t.name}) exited during the window: partial capture kept`
      log(`meshprof: ${t.exitedMidWindow}`)
    } else if (t.conn?.end && /dropped/.test(t.conn.end.reason) && !t.exitedMidWindow) {
      t.exitedMidWindow = `the connection to pid ${t.info.pid} (${t.name}) dropped ${(t.conn.end.wallMs / 1000).toFixed(1)} s into the window; its data up to then was collected through the inspector: partial capture kept`
      log(`meshprof: ${t.exitedMidWindow}`)
    } else if (!t.conn && t.profileStartEpochMs !== undefined && !t.exitedMidWindow) {
      t.exitedMidWindow = pidExists(t.info.pid)
        ? `pid ${t.info.pid} (${t.name}) did not hand over its data: partial capture kept`
        : `pid ${t.info.pid} (${t.name}) exited during the window: partial capture kept`
      log(`meshprof: ${t.exitedMidWindow}`)
    }
    if (t.conn) t.conn.close()
  }
  closeChannels()
  dbg('stopped')

  // 6. Raw data first, then the capture files.
  const results: TargetResult[] = []
  const written: string[] = []
  for (const t of targets) {
    if (t.error || !running.includes(t)) {
      results.push(result(t, false, t.error?.message ?? 'not captured'))
      continue
    }
    try {
      const cpuEnd = t.perf ? cpuTimeNs(t.info.pid) : undefined
      const w = await writeCaptureFiles({
        dir: opts.outDir,
        info: t.info,
        name: t.name,
        backend: t.backend,
        rateHz: opts.rateHz,
        startEpochMs: t.startEpochMs ?? windowStart,
        stopEpochMs: t.stopEpochMs ?? stopAt,
        conn: t.conn,
        eventLoopBlocked: t.conn ? t.conn.detached && t.conn.end !== undefined : undefined,
        perf: t.perf,
        nativePerf: t.nativePerf,
        network: network.get(t),
        memory: t.memory,
        cpuTimeNs: t.perf && t.cpu0 !== undefined && cpuEnd !== undefined ? cpuEnd - t.cpu0 : undefined,
        // perf samples every thread; the inspector and the agent profile the main thread (tid = pid),
        // the inspector also the worker threads it got a profile of
        threads: t.threads0 && t.threads1?.size ? threadCpuDelta(t.threads0, t.threads1).map((x) => ({ ...x, profiled: t.backend === 'perf' || x.tid === t.info.pid || Boolean(t.conn?.workers.some((w) => w.tid === x.tid && w.profile)) })) : undefined,
        exitedMidWindow: t.exitedMidWindow,
        interrupted,
        warnings: t.warnings,
      })
      written.push(w.captureFile)
      results.push({ ...result(t, true), ...w, partial: w.partial, warnings: [...t.warnings, ...w.loopNotes] })
    } catch (e) {
      const err = asMeshprofError(e)
      results.push({ ...result(t, false, err.message), errorCode: err.exitCode, hint: err.hint })
      log(`meshprof: ${err.message}`)
    }
  }
  let meshFile: string | undefined
  if (pids.length > 1 && written.length) {
    meshFile = await writeMeshFile(opts.outDir, written, startSpreadMs)
  }
  dbg('written')
  return { dir: opts.outDir, results, meshFile, interrupted, startSpreadMs, attachMs, elapsedMs: Date.now() - T0 }
}

function result(t: Target, ok: boolean, error?: string): TargetResult {
  return {
    pid: t.info.pid,
    name: t.name,
    command: t.info.command,
    backend: t.backend,
    ok,
    partial: Boolean(t.exitedMidWindow),
    ...(error ? { error, errorCode: t.error?.exitCode ?? EXIT.TARGET, hint: t.error?.hint } : {}),
    warnings: t.warnings,
  }
}
