// Inspector back-end: attach to a running Node process with no preparation.
//
// 1. The pid must be a Node executable (checked by the caller from /proc/<pid>/exe) — SIGUSR1
//    terminates most other programs.
// 2. If its inspector is already open (--inspect, or opened earlier), use it and leave it open.
//    Otherwise make sure nothing else holds the port it will bind (default 127.0.0.1:9229: a target
//    that fails to bind leaves the port to another process, and a naive tool profiles that one),
//    send SIGUSR1 and wait for the pid itself to listen.
// 3. Connect over ws and evaluate the probe (agent/probe.cjs) in one Runtime.evaluate that first
//    checks `process.pid` is the pid asked for. The probe starts the CPU profiler at once on an
//    in-process inspector.Session (the Profiler domain; this runs inside the evaluation, so it works
//    while the main thread is stuck in synchronous JavaScript: V8 dispatches inspector messages
//    through interrupts), and connects back to meshprof over a private unix socket for the window's
//    commands and network evidence, which needs the event loop. Then close the inspector port
//    (`process._debugEnd()`, which needs no event loop either) and verify it is closed. The profile
//    keeps running on the in-process session, so Node processes sharing port 9229 are attached one
//    after the other (pipelined: the connect-back is awaited outside the port's turn), and targets on
//    distinct ports at the same time.
// 4. When the event loop never handed the data over, `rescueInspector` opens the inspector again
//    at the end of the window, calls the probe's rescue() (synchronous: stop and return everything)
//    and closes it again.
import { readFileSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { get as httpGet } from 'node:http'
import { connect as netConnect } from 'node:net'
import { Cdp } from './cdp.js'
import type { ProbeChannel } from './channel.js'
import { listeningPorts, pidExists, pidOfInode, portListening, readEnviron, readProcess, permissionError, socketInodes, tcpEntriesOf, type ProcessInfo } from './proc.js'
import { CaptureError, EXIT } from '../util/errors.js'
import { within } from '../util/wait.js'

export const DEFAULT_INSPECT_PORT = 9229
/** How long a signalled target gets to open its inspector. Measured: 7-70 ms. */
export const SIGNAL_WAIT_MS = 3000

export interface InspectConfig {
  host: string
  port: number
  /** --inspect / --inspect-brk / --inspect-wait given: the inspector opened at start-up. */
  active: boolean
}

function parseHostPort(v: string, into: InspectConfig): void {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d+)$/.exec(v)
  if (m) {
    if (m[1]) into.host = m[1]
    into.port = Number(m[2])
  } else if (v) {
    into.host = v
  }
}

/** Inspector host/port a Node process was started with (argv node options, then NODE_OPTIONS). */
export function inspectConfig(argv: readonly string[], nodeOptions = ''): InspectConfig {
  const cfg: InspectConfig = { host: '127.0.0.1', port: DEFAULT_INSPECT_PORT, active: false }
  const opts: string[] = []
  for (const o of nodeOptions.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []) opts.push(o.replace(/"/g, ''))
  // node's own options come before the script name
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('-')) break
    opts.push(a)
    if ((a === '--inspect-port' || a === '--debug-port' || a === '-r' || a === '--require' || a === '--import' || a === '--loader') && i + 1 < argv.length) opts.push(argv[++i]!)
  }
  for (let i = 0; i < opts.length; i++) {
    const a = opts[i]!
    const m = /^--(inspect|inspect-brk|inspect-wait|inspect-port|debug-port)(?:=(.*))?$/.exec(a)
    if (!m) continue
    let value = m[2]
    if (value === undefined && (m[1] === 'inspect-port' || m[1] === 'debug-port')) value = opts[++i]
    if (m[1] !== 'inspect-port' && m[1] !== 'debug-port') cfg.active = true
    if (value !== undefined) parseHostPort(value, cfg)
  }
  if (cfg.host === 'localhost') cfg.host = '127.0.0.1'
  return cfg
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** GET /json/list (node:http: `fetch` would load undici, a noticeable start-up cost on a busy host). */
function jsonList(port: number, host = '127.0.0.1', timeoutMs = 1500): Promise<Array<{ webSocketDebuggerUrl?: string; type?: string }> | undefined> {
  return new Promise((resolve) => {
    const req = httpGet({ host, port, path: '/json/list', timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        resolve(undefined)
        return
      }
      const chunks: Buffer[] = []
      let len = 0
      res.on('data', (c: Buffer) => {
        len += c.length
        if (len > 1 << 20) req.destroy()
        else chunks.push(c)
      })
      res.on('end', () => {
        try {
          const j = JSON.parse(Buffer.concat(chunks).toString('utf8'))
          resolve(Array.isArray(j) ? j : undefined)
        } catch {
          resolve(undefined)
        }
      })
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

let probeSource: string | undefined
export function probeSourceText(): string {
  probeSource ??= readFileSync(fileURLToPath(new URL('./agent/probe.cjs', import.meta.url)), 'utf8')
  return probeSource
}

/**
 * The expression evaluated in the target: defines the probe as a CommonJS module and creates it.
 * Answers 'ok <epoch ms the profiler started>' or 'error: ...'.
 */
export function probeExpression(cfg: Record<string, unknown>, pid: number): string {
  return `(function () {
  if (process.pid !== ${pid}) return 'pid ' + process.pid;
  // Frames below this evaluation's own (<anonymous>) ones: it interrupted running JavaScript, so the
  // event loop is not turning right now. From the idle loop there are none.
  const here = {}; const lim = Error.stackTraceLimit; Error.stackTraceLimit = 10; Error.captureStackTrace(here); Error.stackTraceLimit = lim;
  const interrupted = String(here.stack).split('\\n').slice(1).some((l) => !/^\\s*at <anonymous>:\\d+:\\d+$/.test(l));
  const module = { exports: {} }; const exports = module.exports;
  (function (module, exports) {
${probeSourceText()}
  })(module, exports);
  const r = module.exports(${JSON.stringify(cfg)});
  return r.ok ? 'ok ' + r.probe.profileStartEpochMs() + (interrupted ? ' interrupted' : '') : 'error: ' + r.error;
})()`
}


/** Closes the inspector without the event loop (inspector.close() from an evaluation needs a deferral, which a blocked loop never runs). */
const DEBUG_END_EXPRESSION = 'process._debugEnd()'

export interface InspectorAttach {
  port: number
  openedByUs: boolean
  /** Epoch ms when the probe started the profiler (inside the evaluation). */
  profileStartEpochMs: number
  /** The evaluation interrupted running JavaScript: the event loop was not turning at that moment. */
  interrupted: boolean
  warnings: string[]
}

export interface InspectorOptions {
  /** Target's inspector port when its command line does not tell (process.title rewrites it). */
  port?: number
  signalWaitMs?: number
  log?: (line: string) => void
}

function holderOf(port: number): string {
  const entry = portListening(port)
  if (!entry) return ''
  const pid = pidOfInode(entry.inode)
  if (!pid) return ''
  try {
    const p = readProcess(pid)
    return ` by pid ${pid} (${p.command.slice(0, 80) || p.comm})`
  } catch {
    return ` by pid ${pid}`
  }
}

/** In-process turns per port: this process's own attaches to one port follow each other without polling. */
const portTurns = new Map<number, Promise<unknown>>()

/**
 * The signal-to-close section for a fixed port is serialised: within this process by a promise
 * chain per port, across meshprof processes by a lock directory (stale locks of dead meshprof
 * processes are taken over).
 */
async function withAttachLock<T>(port: number, fn: () => Promise<T>): Promise<T> {
  if (port === 0) return fn()
  const prev = portTurns.get(port) ?? Promise.resolve()
  const mine = prev.catch(() => {}).then(() => withFileLock(port, fn))
  portTurns.set(port, mine.catch(() => {}))
  return mine
}

async function withFileLock<T>(port: number, fn: () => Promise<T>): Promise<T> {
  const dir = join(tmpdir(), `meshprof-attach-${port}.lock`)
  const deadline = Date.now() + 15000
  let mine = false
  while (!mine) {
    try {
      mkdirSync(dir, { mode: 0o700 })
      writeFileSync(join(dir, 'pid'), String(process.pid))
      mine = true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) break // cannot lock: go on without
      let owner = 0
      try {
        owner = Number(readFileSync(join(dir, 'pid'), 'utf8'))
      } catch {
        owner = 0
      }
      let age = 0
      try {
        age = Date.now() - statSync(dir).mtimeMs
      } catch {
        age = 0
      }
      if ((owner && !pidExists(owner)) || (!owner && age > 5000)) rmSync(dir, { recursive: true, force: true })
      else await sleep(20)
    }
  }
  try {
    return await fn()
  } finally {
    if (mine) rmSync(dir, { recursive: true, force: true })
  }
}

function targetConfig(info: ProcessInfo, opts: InspectorOptions): InspectConfig {
  const env = readEnviron(info.pid)
  const cfg = inspectConfig(info.argv, env.NODE_OPTIONS ?? '')
  if (opts.port !== undefined) cfg.port = opts.port
  return cfg
}

/** Attach the probe to a Node process through its inspector. The caller has checked it is Node. */
export async function attachInspector(info: ProcessInfo, channel: ProbeChannel, opts: InspectorOptions & { durationMs: number; rateHz: number }): Promise<InspectorAttach> {
  const cfg = targetConfig(info, opts)
  return withAttachLock(cfg.port, () => inSession(info, cfg, opts, async (cdp) => {
    const r = await cdp.evaluate<string>(probeExpression({
      token: channel.token,
      backend: 'inspector',
      connectPath: channel.path,
      // a blocked loop runs no timer anyway; a loop that turns removes an unstarted probe after this
      armTimeoutMs: opts.durationMs + 60000,
      profileNow: { rateHz: opts.rateHz },
    }, info.pid), 10000)
    if (/^pid \d+$/.test(r)) throw new Error(r)
    if (!/^ok /.test(r)) throw new CaptureError(`pid ${info.pid}: ${String(r).replace(/^error: /, '')}`)
    const [epoch, how] = r.slice(3).split(' ')
    return { epoch: Number(epoch), interrupted: how === 'interrupted' }
  })).then((x) => ({ port: x.port, openedByUs: x.openedByUs, warnings: x.warnings, profileStartEpochMs: x.value.epoch, interrupted: x.value.interrupted }))
}

/**
 * End the window of a probe whose event loop did not hand its data over: open the inspector again,
 * call the probe's rescue() and close it. Returns the probe's lines ('' when it holds nothing).
 * The caller has checked that the pid is the same process and not stopped.
 */
export async function rescueInspector(info: ProcessInfo, opts: InspectorOptions = {}): Promise<{ lines: string; warnings: string[] }> {
  const cfg = targetConfig(info, opts)
  const expr = `(function () {
  if (process.pid !== ${info.pid}) return 'pid ' + process.pid;
  const p = globalThis[Symbol.for('meshprof.probe')];
  return p && typeof p.rescue === 'function' ? 'ok ' + p.rescue() : 'ok ';
})()`
  const x = await withAttachLock(cfg.port, () => inSession(info, cfg, opts, async (cdp) => {
    const r = await cdp.evaluate<string>(expr, 15000)
    if (!/^ok /.test(r)) throw new Error(r)
    return r.slice(3)
  }))
  return { lines: x.value, warnings: x.warnings }
}

/**
 * Open (or find open) the pid's inspector, run `fn` on a ws session whose evaluations first check
 * `process.pid`, then close the port if this call opened it, and verify it is closed.
 */
async function inSession<T>(info: ProcessInfo, cfg: InspectConfig, opts: InspectorOptions, fn: (cdp: Cdp) => Promise<T>): Promise<{ value: T; port: number; openedByUs: boolean; warnings: string[] }> {
  const pid = info.pid
  const T0 = Date.now()
  const dbg = (m: string) => { if (process.env.MESHPROF_DEBUG) process.stderr.write(`meshprof: inspector ${pid} +${Date.now() - T0} ms ${m}\n`) }
  const warnings: string[] = []
  // /proc/<pid>/net/tcp is the whole namespace's table (tens of thousands of rows on a busy host,
  // ~10 ms of kernel time per read): a fixed port is checked with a TCP connect instead, and the
  // table is read only for port 0 / an already-active inspector, or when the port is taken.
  const fixed = cfg.port !== 0 && !cfg.active
  let before = new Set<number>()
  let port = -1
  let openedByUs = false
  if (fixed) {
    if (await tcpListening(cfg.port)) {
      if (listeningPorts(pid).has(cfg.port) && (await jsonList(cfg.port))) port = cfg.port // open already (opened earlier)
    }
  } else {
    before = listeningPorts(pid)
    if (cfg.port !== 0 && before.has(cfg.port) && (await jsonList(cfg.port, LOOPBACK.has(cfg.host) ? '127.0.0.1' : cfg.host))) port = cfg.port
    else {
      for (const p of before) {
        if (await jsonList(p, '127.0.0.1', 300)) {
          port = p
          break
        }
      }
    }
  }

  if (port < 0) {
    if (!LOOPBACK.has(cfg.host)) {
      throw new CaptureError(
        `pid ${pid} would open its inspector on ${cfg.host}:${cfg.port}, which is not loopback: anyone who can reach it could run code in the process; refusing`,
        EXIT.TARGET,
        'restart it with --inspect-port=127.0.0.1:0, or use --via perf / the agent (meshprof run)',
      )
    }
    if (cfg.port !== 0 && (await tcpListening(cfg.port))) {
      // Someone else's short attach (a debugger, another tool) frees it within moments; a squatter does not.
      const until = Date.now() + 1500
      while (Date.now() < until && (await tcpListening(cfg.port))) await sleep(50)
    }
    if (cfg.port !== 0 && (await tcpListening(cfg.port))) {
      throw new CaptureError(
        `port ${cfg.port} is already in use${holderOf(cfg.port)}: pid ${pid}'s inspector could not bind it, and that port is not pid ${pid}`,
        EXIT.TARGET,
        `free port ${cfg.port}, pass --inspector-port if pid ${pid} uses another one, or use --via perf`,
      )
    }
    // A process that set its title (process.title) hides its --inspect-port=0 from /proc/<pid>/cmdline,
    // so a "fixed" port may be a guess: the sockets it had before the signal tell a new listener apart.
    const inodesBefore = fixed ? safeSocketInodes(pid) : new Set<string>()
    try {
      process.kill(pid, 'SIGUSR1')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EPERM') throw permissionError(pid, info.uid)
      if (code === 'ESRCH') throw new CaptureError(`pid ${pid} exited before meshprof could attach`)
      throw e
    }
    openedByUs = true
    dbg('signalled')
    port = await waitForInspector(pid, cfg, before, opts.signalWaitMs ?? SIGNAL_WAIT_MS, inodesBefore)
  }

  let cdp: Cdp | undefined
  let verified = false
  try {
    dbg(`port ${port} open`)
    const list = await jsonList(port)
    const url = list?.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl
    if (!url) throw new CaptureError(`pid ${pid}: the inspector on port ${port} lists no debug target`)
    cdp = await Cdp.connect(url)
    dbg('connected')
    // `fn`'s evaluation checks process.pid first (one round trip instead of two: attaches to a shared
    // port follow each other, so every round trip counts 18 times).
    try {
      const value = await fn(cdp)
      verified = true
      dbg('evaluated')
      return { value, port, openedByUs, warnings }
    } catch (e) {
      const m = /^pid (\d+)$/.exec((e as Error).message)
      if (m) {
        throw new CaptureError(`the inspector on 127.0.0.1:${port} belongs to pid ${m[1]}, not pid ${pid}; refusing to profile the wrong process`, EXIT.TARGET,
          `free port ${port} or use --via perf`)
      }
      // The port is the pid's own (found among its listening sockets), so close it even so.
      verified = true
      throw e
    }
  } finally {
    if (cdp && openedByUs && verified && !cdp.isClosed) {
      // No reply comes: the session closes with the port.
      cdp.send('Runtime.evaluate', { expression: DEBUG_END_EXPRESSION }, 3000).catch(() => {})
      await within(cdp.closed, 2000)
      dbg('ws closed')
    }
    cdp?.close()
    if (openedByUs && verified) {
      const deadline = Date.now() + 2000
      let open = true
      while (Date.now() < deadline) {
        try {
          open = fixed && port === cfg.port ? await tcpListening(port) : listeningPorts(pid).has(port)
        } catch {
          open = false
        }
        if (!open) break
        await sleep(5)
      }
      dbg('port closed')
      if (open) warnings.push(`pid ${pid}: its inspector port ${port} is still open after process._debugEnd()`)
    }
  }
}

/** Does something accept TCP connections on 127.0.0.1:port? (ECONNREFUSED: no.) */
function tcpListening(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port })
    const done = (v: boolean) => {
      clearTimeout(t)
      s.destroy()
      resolve(v)
    }
    const t = setTimeout(() => done(true), timeoutMs) // accepted but slow: something is there
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

/** After SIGUSR1: the port the pid opened (its configured one, or a new one for port 0). */
async function waitForInspector(pid: number, cfg: InspectConfig, before: Set<number>, waitMs: number, inodesBefore: ReadonlySet<string> = new Set()): Promise<number> {
  const deadline = Date.now() + waitMs
  if (cfg.port !== 0 && !cfg.active) {
    // The port was free before the signal and the attach lock is held: the first listener is the
    // pid's (the evaluation's process.pid check refuses any other). Every ~100 ms, a listening
    // socket the pid did not have before the signal is tried too: its real port may differ from the
    // one its (retitled) command line shows.
    let nextLook = Date.now() + 100
    while (Date.now() < deadline) {
      if (await tcpListening(cfg.port)) return cfg.port
      stillThere(pid)
      if (Date.now() >= nextLook) {
        nextLook = Date.now() + 100
        const p = await newListener(pid, inodesBefore, cfg.port)
        if (p !== undefined) return p
      }
      await sleep(5)
    }
    throw notOpened(pid, waitMs)
  }
  let seen = ''
  while (Date.now() < deadline) {
    // Re-read the TCP tables only when the pid's set of sockets changed (they are big on busy hosts).
    let key = ''
    try {
      key = [...socketInodes(pid)].sort().join(',')
    } catch {
      key = ''
    }
    if (key !== seen) {
      seen = key
      let now: Set<number>
      try {
        now = listeningPorts(pid)
      } catch {
        now = new Set()
      }
      if (cfg.port !== 0 && now.has(cfg.port)) return cfg.port
      for (const p of [...now].filter((x) => !before.has(x))) {
        if (await jsonList(p, '127.0.0.1', 300)) return p
      }
    }
    stillThere(pid)
    await sleep(5)
  }
  throw notOpened(pid, waitMs)
}

function safeSocketInodes(pid: number): Set<string> {
  try {
    return socketInodes(pid)
  } catch {
    return new Set()
  }
}

/** A port the pid listens on through a socket it did not have before (and that serves /json/list). */
async function newListener(pid: number, inodesBefore: ReadonlySet<string>, skip: number): Promise<number | undefined> {
  const fresh = new Set([...safeSocketInodes(pid)].filter((i) => !inodesBefore.has(i)))
  if (fresh.size === 0) return undefined
  for (const e of tcpEntriesOf(pid, fresh)) {
    if (e.state === '0A' && e.localPort !== skip && (await jsonList(e.localPort, '127.0.0.1', 300))) return e.localPort
  }
  return undefined
}

function stillThere(pid: number): void {
  try {
    process.kill(pid, 0)
  } catch {
    throw new CaptureError(`pid ${pid} exited right after SIGUSR1`)
  }
}

function notOpened(pid: number, waitMs: number): CaptureError {
  return new CaptureError(
    `pid ${pid} did not open its inspector within ${(waitMs / 1000).toFixed(1)} s of SIGUSR1: it handles SIGUSR1 itself (process.on('SIGUSR1')) or runs with --disable-sigusr1; nothing else was done to it`,
    EXIT.TARGET,
    `use --via perf, or start it with the agent (node --require meshprof/agent, or meshprof run), or with --inspect=127.0.0.1:0`,
  )
}
