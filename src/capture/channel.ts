// meshprof's end of the in-target probe (agent/probe.cjs): a unix socket in a private directory
// (0700, socket 0600) that probes connect to (inspector back-end, `meshprof run`), or a client
// connection to an agent's socket (agent back-end). Both speak the same newline-delimited JSON.
import { createServer, createConnection, type Server, type Socket } from 'node:net'
import { mkdtempSync, chmodSync, chownSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ConnectEvent, SocketSnapshot } from '../model/types.js'
import { ProbeHeap } from './heap-probe.js'

/** Longest line accepted from a probe (a CPU profile is one line). */
const MAX_LINE = 512 * 1024 * 1024

export interface ProbeHello {
  token: string | null
  pid: number
  node?: string
  backend?: string
  title?: string
  argv?: string[]
  execArgv?: string[]
}

export interface ProbeEnd {
  reason: string
  wallMs: number
  cpuNs: number
  connects: number
  dropped: number
  epochMs: number
  /** The window's network recording ran (false: the event loop never turned to start it). */
  network?: boolean
  /** ms into the window when the network recording started (the loop turned late). */
  netStartMs?: number
  /** ms into the CPU profile where the window starts (the profiler ran since the attach). */
  windowOffsetMs?: number
}

/** A worker thread of the target, as the probe saw it in the window (inspector back-end). */
export interface ProbeWorker {
  threadId: number
  /** The Worker's `name` option ('' when not set). */
  name: string
  /** OS thread id (/proc/thread-self inside the worker), when known. */
  tid?: number
  /** ms into the window when its profiler was attached (0 for a worker running at the start). */
  startMs: number
  /** It started in the window and waited for its profiler: profiled from its first line. */
  fromStart: boolean
  /** Its V8 CPU profile (wprofile), or why there is none (wlost). */
  profile?: unknown
  lost?: string
}

/** Everything one probe sent, as it arrived (over its socket, or handed over by a rescue). */
export class ProbeConnection {
  hello?: ProbeHello
  startedEpochMs?: number
  /** The data came through the inspector's rescue() (the event loop did not hand it over). */
  rescued = false
  /** Snapshots that arrived over the socket, before a rescue added its final one. */
  snapshotsBeforeRescue = 0
  readonly stacks = new Map<number, string[]>()
  readonly connects: Array<{ t: number; r: string; tls: boolean; s: number; a: boolean }> = []
  readonly snapshots: SocketSnapshot[] = []
  profile?: { format: string; data: unknown }
  /** Worker threads profiled in the window (inspector), with their profiles or why they have none. */
  readonly workers: ProbeWorker[] = []
  /** capture --heap: what the probe's heap recorder sent (see heap-probe.ts). */
  readonly heap = new ProbeHeap()
  end?: ProbeEnd
  readonly errors: string[] = []
  readonly closed: Promise<void>
  /** Resolves with the hello. */
  readonly ready: Promise<ProbeHello>
  private readyResolve!: (h: ProbeHello) => void
  private endWaiters: Array<() => void> = []
  private startedWaiters: Array<() => void> = []
  private buf: string[] = []
  private bufLen = 0
  isClosed = false

  constructor(readonly socket: Socket) {
    this.ready = new Promise((r) => { this.readyResolve = r })
    if (!socket) {
      this.isClosed = true
      this.closed = Promise.resolve()
      return
    }
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => this.onData(d))
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true
        for (const w of this.endWaiters.splice(0)) w()
        for (const w of this.startedWaiters.splice(0)) w()
        resolve()
      })
    })
  }

  /** A probe that never connected: its lines arrive only through rescue(). */
  static detached(pid: number): ProbeConnection {
    const c = new ProbeConnection(undefined as unknown as Socket)
    c.hello = { token: null, pid }
    return c
  }

  /** It never connected: everything came through rescue() (its event loop never turned). */
  get detached(): boolean {
    return !this.socket
  }

  /** Lines returned by the probe's rescue(). */
  feed(lines: string): void {
    this.rescued = true
    this.snapshotsBeforeRescue = this.snapshots.length
    this.onData(lines.endsWith('\n') ? lines : lines + '\n')
  }

  private onData(d: string): void {
    let from = 0
    for (;;) {
      const nl = d.indexOf('\n', from)
      if (nl < 0) break
      const piece = d.slice(from, nl)
      const lineText = this.buf.length ? this.buf.join('') + piece : piece
      this.buf = []
      this.bufLen = 0
      this.onLine(lineText)
      from = nl + 1
    }
    if (from < d.length) {
      this.buf.push(d.slice(from))
      this.bufLen += d.length - from
      if (this.bufLen > MAX_LINE) {
        this.errors.push('probe sent an over-long line; connection dropped')
        this.socket.destroy()
      }
    }
  }

  private onLine(text: string): void {
    if (!text) return
    let m: Record<string, unknown>
    try {
      m = JSON.parse(text)
    } catch {
      return // a line cut by a target that exited mid-write
    }
    switch (m.k) {
      case 'hello':
        this.hello = m as unknown as ProbeHello
        this.readyResolve(this.hello)
        break
      case 'started':
        this.startedEpochMs = Number(m.epochMs)
        for (const w of this.startedWaiters.splice(0)) w()
        break
      case 'stack':
        if (Array.isArray(m.f)) this.stacks.set(Number(m.id), (m.f as unknown[]).map(String))
        break
      case 'conns':
        if (Array.isArray(m.c)) for (const c of m.c as Array<Record<string, unknown>>) this.connects.push({ t: Number(c.t), r: String(c.r), tls: c.tls === true, s: Number(c.s), a: c.a === true })
        break
      case 'snap':
        if (Array.isArray(m.r)) this.snapshots.push({ t: Number(m.t), remotes: (m.r as unknown[]).map(String) })
        this.heap.onSnap(m)
        break
      case 'hsite':
      case 'hpoint':
      case 'hstats':
        this.heap.onLine(m)
        break
      case 'profile':
        this.profile = { format: String(m.format), data: m.data }
        break
      case 'wprofile':
      case 'wlost': {
        const w: ProbeWorker = { threadId: Number(m.threadId) || 0, name: typeof m.name === 'string' ? m.name : '', startMs: Number(m.startMs) || 0, fromStart: m.fromStart === true }
        if (Number.isInteger(m.tid) && (m.tid as number) > 0) w.tid = m.tid as number
        if (m.k === 'wprofile') w.profile = m.data
        else w.lost = String(m.reason)
        this.workers.push(w)
        break
      }
      case 'end':
        this.end = m as unknown as ProbeEnd
        for (const w of this.endWaiters.splice(0)) w()
        break
      case 'error':
        this.errors.push(String(m.message))
        break
    }
  }

  send(obj: unknown): void {
    if (this.socket && !this.socket.destroyed && this.socket.writable) this.socket.write(JSON.stringify(obj) + '\n')
  }

  /** keepProfile: the loop turned late; keep the profile the probe started when it was created. */
  start(durationMs: number, rateHz: number, keepProfile = false, heap = false): void {
    this.send({ cmd: 'start', durationMs, rateHz, ...(keepProfile ? { keepProfile } : {}), ...(heap ? { heap: true } : {}) })
  }

  stop(): void {
    this.send({ cmd: 'stop' })
  }

  /** Resolves when the window has started (or the connection closed). */
  waitStarted(timeoutMs: number): Promise<boolean> {
    if (this.startedEpochMs !== undefined) return Promise.resolve(true)
    if (this.isClosed) return Promise.resolve(false)
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.startedEpochMs !== undefined), timeoutMs)
      this.startedWaiters.push(() => { clearTimeout(t); resolve(this.startedEpochMs !== undefined) })
    })
  }

  /** Resolves when the probe sent its end (or the connection closed, or the timeout passed). */
  waitEnd(timeoutMs: number): Promise<boolean> {
    if (this.end) return Promise.resolve(true)
    if (this.isClosed) return Promise.resolve(false)
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.end !== undefined), timeoutMs)
      this.endWaiters.push(() => { clearTimeout(t); resolve(this.end !== undefined) })
    })
  }

  /** Connect events in the model's shape (initiator stacks expanded, root first). */
  connectEvents(): ConnectEvent[] {
    return this.connects.map((c) => {
      const initiator = this.stacks.get(c.s)
      return { t: c.t, remote: c.r, tls: c.tls, ...(initiator ? { initiator } : {}), alreadyConnected: c.a }
    })
  }

  close(): void {
    if (!this.socket) return
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
  }
}

/** A private listening socket probes connect to. */
export class ProbeChannel {
  readonly token = randomBytes(16).toString('hex')
  private waiting = new Map<number, (c: ProbeConnection | undefined) => void>()
  private arrived = new Map<number, ProbeConnection>()
  readonly all: ProbeConnection[] = []
  private sockets = new Set<Socket>()
  onConnection?: (c: ProbeConnection) => void

  private constructor(readonly dir: string, readonly path: string, private server: Server) {}

  /** Create the directory and listen. `uid`: when meshprof runs as root for another user's target. */
  static async open(uid?: number): Promise<ProbeChannel> {
    const base = process.env.XDG_RUNTIME_DIR && process.env.XDG_RUNTIME_DIR.length < 60 ? process.env.XDG_RUNTIME_DIR : tmpdir()
    let dir: string
    try {
      dir = mkdtempSync(join(base, 'meshprof-'))
    } catch {
      dir = mkdtempSync(join(tmpdir(), 'meshprof-'))
    }
    chmodSync(dir, 0o700)
    const path = join(dir, 'probe.sock')
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => resolve())
    })
    chmodSync(path, 0o600)
    const me = process.getuid?.()
    if (uid !== undefined && me === 0 && uid !== 0) {
      chownSync(dir, uid, -1)
      chownSync(path, uid, -1)
    }
    const ch = new ProbeChannel(dir, path, server)
    server.on('connection', (s) => ch.accept(s))
    return ch
  }

  private accept(s: Socket): void {
    this.sockets.add(s)
    s.on('close', () => this.sockets.delete(s))
    const c = new ProbeConnection(s)
    const t = setTimeout(() => s.destroy(), 10000)
    t.unref()
    c.ready.then((h) => {
      clearTimeout(t)
      if (h.token !== this.token) {
        s.destroy()
        return
      }
      this.all.push(c)
      const w = this.waiting.get(h.pid)
      if (w) {
        this.waiting.delete(h.pid)
        w(c)
      } else {
        this.arrived.set(h.pid, c)
      }
      this.onConnection?.(c)
    })
    c.closed.then(() => clearTimeout(t))
  }

  /** The probe of this pid, once it has said hello (undefined after the timeout). */
  expect(pid: number, timeoutMs: number): Promise<ProbeConnection | undefined> {
    const got = this.arrived.get(pid)
    if (got) {
      this.arrived.delete(pid)
      return Promise.resolve(got)
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiting.delete(pid)
        resolve(undefined)
      }, timeoutMs)
      this.waiting.set(pid, (c) => {
        clearTimeout(t)
        resolve(c)
      })
    })
  }

  close(): void {
    // Nobody connects any more: answer every waiter now (their timers would hold the process).
    for (const w of [...this.waiting.values()]) w(undefined)
    this.waiting.clear()
    // A probe that connected but never said hello (its loop is blocked) must not keep meshprof alive.
    for (const s of this.sockets) if (!this.all.some((c) => c.socket === s)) s.destroy()
    this.server.close()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Connect to an agent's socket (the agent says hello first). */
export async function connectAgent(path: string, timeoutMs = 3000): Promise<ProbeConnection> {
  const s = createConnection({ path })
  const c = new ProbeConnection(s)
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { s.destroy(); reject(new Error('the agent did not answer within 3 s')) }, timeoutMs)
    s.once('error', (e) => { clearTimeout(t); reject(e) })
    c.ready.then(() => { clearTimeout(t); resolve() })
    c.closed.then(() => { clearTimeout(t); reject(new Error('the agent closed the connection')) })
  })
  return c
}
