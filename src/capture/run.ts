// `meshprof run -- cmd ...`: launch a command with the agent preloaded (NODE_OPTIONS --require, so
// every Node process it starts carries it), profile every such process from its start until it
// exits, -d passes, or Ctrl-C. After Ctrl-C (or -d with stopAtEnd) the command is stopped; after -d
// alone it keeps running and the caller decides (the CLI waits for it, forwarding Ctrl-C).
//
// A process whose main thread never yields (synchronous JavaScript) never connects to meshprof nor
// answers `stop`: it is found by its token in /proc/<pid>/environ and its data is collected through
// the inspector (the agent's probe has rescue()); NODE_OPTIONS gets --inspect-port=127.0.0.1:0 so
// that SIGUSR1 opens a port of its own rather than 9229.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { mkdirSync, accessSync, constants as fsc } from 'node:fs'
import { ProbeChannel, ProbeConnection } from './channel.js'
import { readdirSync, readFileSync } from 'node:fs'
import { readProcess, pidExists, isNodeExecutable, isStopped, stillSameProcess, type ProcessInfo } from './proc.js'
import { rescueInspector } from './inspector.js'
import { STOP_WAIT_MS } from './session.js'
import { processName, type CaptureOutcome, type TargetResult } from './session.js'
import { writeCaptureFiles, writeMeshFile } from './output.js'
import { CaptureError, EXIT, MeshprofError } from '../util/errors.js'
import { within } from '../util/wait.js'

export interface RunOptions {
  cmd: string[]
  /** Profile at most this long (default: until the command exits). */
  durationMs?: number
  rateHz: number
  outDir: string
  /** Also live heap by allocation site and handles (capture --heap; no /proc figures here). */
  heap?: boolean
  signal?: AbortSignal
  log?: (line: string) => void
  onCountdown?: (leftMs: number | undefined) => void
  /** At the end of -d, stop the command too (default: it keeps running). */
  stopAtEnd?: boolean
}

export interface RunOutcome extends CaptureOutcome {
  childExit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  /** The command still runs after the window (-d without stopAtEnd): its process group and exit. */
  running?: { pid: number; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> }
}

export function preloadPath(): string {
  return fileURLToPath(new URL('./agent/preload.cjs', import.meta.url))
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

interface Agent {
  conn: ProbeConnection
  info: ProcessInfo
  warnings: string[]
}

/** Processes that carry this run's token (they loaded the agent), read from /proc/<pid>/environ. */
function pidsWithToken(token: string): number[] {
  const needle = `MESHPROF_AGENT_TOKEN=${token}`
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(needle)) out.push(Number(d))
    } catch {
      // gone, or not ours
    }
  }
  return out
}

/** Collect an agent's data through the inspector when its event loop did not hand it over. */
async function rescueAgent(a: Agent): Promise<void> {
  const pid = a.info.pid
  if (!stillSameProcess(pid, a.info.startTicks) || !isNodeExecutable(a.info.exe)) return
  if (isStopped(pid)) {
    a.warnings.push(`pid ${pid} is stopped (SIGSTOP or a tracer): its profile could not be collected and nothing was sent to it`)
    return
  }
  try {
    const r = await rescueInspector(a.info)
    a.warnings.push(...r.warnings)
    if (r.lines) a.conn.feed(r.lines)
  } catch (e) {
    a.warnings.push(`the event loop did not hand the data over and the inspector could not collect it: ${(e as Error).message}`)
  }
}

// Longer than ~150 lines: the child's whole life in order (spawn with the agent preloaded, the window,
// Ctrl-C forwarding, the blocked-loop rescue, --stop, waiting for it) shares the child, its agents
// and the signal handlers; read top to bottom it is one sequence of what happens to the user's command.
export async function runWithAgent(opts: RunOptions): Promise<RunOutcome> {
  const log = opts.log ?? (() => {})
  if (opts.cmd.length === 0) throw new CaptureError('name a command to run after --', EXIT.USAGE)
  try {
    mkdirSync(opts.outDir, { recursive: true })
    accessSync(opts.outDir, fsc.W_OK)
  } catch (e) {
    throw new MeshprofError(`cannot write to ${opts.outDir}: ${(e as Error).message}`, EXIT.IO)
  }
  const channel = await ProbeChannel.open()
  const agents: Agent[] = []
  let windowOpen = true
  channel.onConnection = (conn) => {
    const pid = conn.hello!.pid
    if (!windowOpen) {
      conn.close()
      return
    }
    let info: ProcessInfo
    try {
      info = readProcess(pid)
    } catch {
      const argv = conn.hello?.argv ?? []
      info = { pid, exe: process.execPath, argv, command: argv.join(' '), comm: conn.hello?.title ?? 'node', uid: -1, startTicks: 0 }
    }
    agents.push({ conn, info, warnings: [] })
    conn.start(opts.durationMs ?? 20 * 24 * 3600 * 1000, opts.rateHz, false, opts.heap)
  }
  const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`
  const userOptions = process.env.NODE_OPTIONS ?? ''
  // SIGUSR1 (a rescue) opens a port of the process's own, not the shared 9229, unless the user chose one.
  const inspectPort = /--(inspect|inspect-port|debug-port)\b/.test(userOptions) ? '' : ' --inspect-port=127.0.0.1:0'
  const env = {
    ...process.env,
    NODE_OPTIONS: `${userOptions} --require ${quote(preloadPath())}${inspectPort}`.trim(),
    MESHPROF_AGENT_CONNECT: channel.path,
    MESHPROF_AGENT_TOKEN: channel.token,
    MESHPROF_AGENT_RATE_HZ: String(opts.rateHz),
    MESHPROF_AGENT_DURATION_MS: String(opts.durationMs ?? 20 * 24 * 3600 * 1000),
    ...(opts.heap ? { MESHPROF_AGENT_HEAP: '1' } : {}),
  }
  // Own process group: a Ctrl-C reaches meshprof only, which then collects the profiles and stops the command.
  const child = spawn(opts.cmd[0]!, opts.cmd.slice(1), { stdio: 'inherit', env, detached: true })
  let childExit: RunOutcome['childExit']
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => { childExit = { code, signal }; resolve() })
    child.on('error', () => resolve())
  })
  const spawnError = await Promise.race([
    new Promise<Error>((resolve) => child.once('error', resolve)),
    sleep(50).then(() => undefined),
  ])
  if (spawnError) {
    channel.close()
    const code = (spawnError as NodeJS.ErrnoException).code
    throw new CaptureError(`cannot run ${opts.cmd[0]}: ${code === 'ENOENT' ? 'command not found' : spawnError.message}`, EXIT.USAGE)
  }
  const started = Date.now()
  let interrupted = false
  let lastTick = 0
  for (;;) {
    if (childExit) break
    if (opts.signal?.aborted) {
      interrupted = true
      break
    }
    if (opts.durationMs !== undefined && Date.now() - started >= opts.durationMs) break
    if (opts.onCountdown && Date.now() - lastTick >= 1000) {
      lastTick = Date.now()
      opts.onCountdown(opts.durationMs !== undefined ? opts.durationMs - (Date.now() - started) : undefined)
    }
    await Promise.race([exited, sleep(100)])
  }
  windowOpen = false
  const stopAt = Date.now()
  for (const a of agents) if (!a.conn.end && !a.conn.isClosed) a.conn.stop()
  // Processes of the command whose event loop never turned (they never connected): collect through
  // the inspector at once; those that connected get STOP_WAIT_MS to answer `stop` first.
  const known = new Set(agents.map((a) => a.conn.hello!.pid))
  const silent: Agent[] = []
  for (const pid of pidsWithToken(channel.token)) {
    if (known.has(pid)) continue
    try {
      const info = readProcess(pid)
      if (isNodeExecutable(info.exe)) silent.push({ conn: ProbeConnection.detached(pid), info, warnings: [] })
    } catch {
      // gone
    }
  }
  const connected = [...agents]
  agents.push(...silent)
  await Promise.all([
    ...silent.map(rescueAgent),
    ...connected.map(async (a) => {
      if (!(await a.conn.waitEnd(STOP_WAIT_MS))) await rescueAgent(a)
    }),
  ])
  // The title a process set after the agent loaded (process.title) names its files.
  for (const a of agents) {
    try {
      a.info = readProcess(a.info.pid)
    } catch {
      // gone: keep what the hello said
    }
  }
  // Stop the command if it is still running and that was asked (Ctrl-C, or -d with stopAtEnd).
  let running: RunOutcome['running']
  if (!childExit && child.pid) {
    if (interrupted || opts.stopAtEnd || opts.durationMs === undefined) {
      try { process.kill(-child.pid, 'SIGTERM') } catch { /* gone */ }
      const deadline = Date.now() + 3000
      while (!childExit && Date.now() < deadline) await Promise.race([exited, sleep(50)])
      if (!childExit) {
        try { process.kill(-child.pid, 'SIGKILL') } catch { /* gone */ }
        await within(exited, 1000)
      }
    } else {
      running = { pid: child.pid, exited: exited.then(() => childExit) }
    }
  }
  for (const a of agents) a.conn.close()
  channel.close()

  const results: TargetResult[] = []
  const written: string[] = []
  for (const a of agents) {
    const end = a.conn.end
    const exitedEarly = end && /exiting/.test(end.reason) ? `pid ${a.info.pid} (${processName(a.info)}) exited ${((end.wallMs) / 1000).toFixed(1)} s into its window` : undefined
    const lost = !end ? (pidExists(a.info.pid) ? `pid ${a.info.pid} did not hand over its data` : `pid ${a.info.pid} exited without handing over its data`) : undefined
    const name = processName(a.info)
    try {
      const w = await writeCaptureFiles({
        dir: opts.outDir,
        info: a.info,
        name,
        backend: 'agent',
        rateHz: opts.rateHz,
        startEpochMs: a.conn.startedEpochMs ?? a.conn.end?.epochMs ?? started,
        stopEpochMs: stopAt,
        conn: a.conn,
        eventLoopBlocked: a.conn.detached && end !== undefined,
        exitedMidWindow: lost,
        interrupted,
        warnings: [...a.warnings, ...(exitedEarly ? [exitedEarly] : [])],
      })
      written.push(w.captureFile)
      results.push({ pid: a.info.pid, name, command: a.info.command, backend: 'agent', ok: true, ...w, warnings: [...a.warnings, ...w.loopNotes] })
    } catch (e) {
      const err = e instanceof MeshprofError ? e : new CaptureError(String((e as Error)?.message ?? e))
      results.push({ pid: a.info.pid, name, command: a.info.command, backend: 'agent', ok: false, partial: true, error: err.message, errorCode: err.exitCode, warnings: [] })
      log(`meshprof: ${err.message}`)
    }
  }
  let meshFile: string | undefined
  if (written.length > 1) meshFile = await writeMeshFile(opts.outDir, written)
  const starts = agents.map((a) => a.conn.startedEpochMs).filter((x): x is number => x !== undefined)
  return {
    dir: opts.outDir,
    results,
    meshFile,
    interrupted,
    startSpreadMs: starts.length ? Math.max(...starts) - Math.min(...starts) : undefined,
    attachMs: 0,
    childExit,
    ...(running ? { running } : {}),
  }
}
