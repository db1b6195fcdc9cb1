// Helpers for the capture tests: real processes (the mesh fixture, small Node scripts, the native
// target), cleaned up by pid in after() hooks even when a test fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmdirSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, BIN } from '../helpers/cli.js'

export const MESH = join(ROOT, 'fixtures', 'mesh', 'mesh.js')
export const NATIVE_SRC = join(ROOT, 'fixtures', 'mesh', 'native', 'connect-storm.c')
export const PRELOAD = join(ROOT, 'dist', 'src', 'capture', 'agent', 'preload.cjs')

const spawned = new Set<ChildProcess>()

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meshprof-${prefix}-`))
}

/**
 * A copy of the CLI (bin, dist/src, package.json and the runtime dependencies) in a fresh folder every
 * user can read, for tests that run meshprof as another user: the checkout itself may live under /root
 * or in a 0700 folder, which that user cannot read. Returns the copied bin/meshprof.js.
 */
export function worldReadableCli(): string {
  const dir = tmp('cli')
  for (const part of ['bin', join('dist', 'src'), 'package.json']) cpSync(join(ROOT, part), join(dir, part), { recursive: true })
  // The runtime dependencies as npm installed them: every top-level package the lock file does not mark
  // dev-only (nested node_modules come along with their parent).
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || meta.dev || !existsSync(join(ROOT, path))) continue
    cpSync(join(ROOT, path), join(dir, path), { recursive: true })
  }
  // mkdtemp makes 0700, and a clone made with umask 077 has 0600 files: open both up.
  chmodSync(dir, 0o755)
  spawnSync('chmod', ['-R', 'a+rX', dir])
  return join(dir, 'bin', 'meshprof.js')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Poll until cond() is truthy; throws after timeoutMs. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await cond()
    if (v) return v as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

export interface Proc {
  child: ChildProcess
  pid: number
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  kill(): Promise<void>
}

/** Spawn a tracked process (killed by killAll even if the test fails). */
export function start(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd })
  spawned.add(child)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.length > 4e6) out = out.slice(-2e6) })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; if (err.length > 4e6) err = err.slice(-2e6) })
  child.stdin!.on('error', () => {})
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { spawned.delete(child); resolve({ code, signal }) })
    child.on('error', () => { spawned.delete(child); resolve({ code: -1, signal: null }) })
  })
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 2000)
        await exited
        clearTimeout(t)
      }
    },
  }
}

export interface Mesh {
  proc: Proc
  pids: number[]
  ports: number[]
  /** Latest {"stat":...} per node index. */
  stats(): Map<number, { rx: number; tx: number; connects: number; established: number; t: number }>
  stop(): Promise<void>
}

/** Start fixtures/mesh/mesh.js and wait until every node is up and knows its peers. */
export async function startMesh(nodes: number, mode: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Mesh> {
  const proc = start(process.execPath, [MESH, '--nodes', String(nodes), '--mode', mode, '--duration', '120', '--quiet', ...extra], { env })
  const info = await waitFor(() => {
    const line = proc.stdout().split('\n').find((l) => l.startsWith('{"mesh"'))
    if (!line && proc.child.exitCode !== null) throw new Error(`mesh.js exited: ${proc.stderr()}`)
    return line ? (JSON.parse(line).mesh as { pids: number[]; ports: number[] }) : undefined
  }, 30000, 'the mesh to come up')
  const mesh: Mesh = {
    proc,
    pids: info.pids,
    ports: info.ports,
    stats() {
      const m = new Map()
      for (const l of proc.stdout().split('\n')) {
        if (!l.startsWith('{"stat"')) continue
        try {
          const s = JSON.parse(l).stat
          m.set(s.index, s)
        } catch {
          // partial line
        }
      }
      return m
    },
    async stop() {
      await proc.kill()
      for (const pid of info.pids) if (alive(pid)) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    },
  }
  // Give the nodes time to connect to their peers.
  await waitFor(() => mesh.stats().size === nodes, 15000, 'stats from every node')
  return mesh
}

/** Kill everything this test file started (call from after()). */
export async function killAll(): Promise<void> {
  await Promise.all([...spawned].map(async (c) => {
    try { c.kill('SIGKILL') } catch { /* gone */ }
  }))
}

/** Run meshprof; resolves with code/out/err and elapsed ms. */
export function meshprof(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cmd?: string[]; bin?: string; cwd?: string } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now()
  const [cmd, ...pre] = opts.cmd ?? [process.execPath]
  const p = start(cmd!, [...pre, opts.bin ?? BIN, ...args], { env: { NO_COLOR: '1', ...opts.env }, cwd: opts.cwd })
  p.child.stdin!.end()
  // On a timeout, its pipes are closed too: a grandchild left holding them (a command `run` left running)
  // would otherwise keep this test process alive for ever.
  const timer = setTimeout(() => {
    p.child.kill('SIGKILL')
    setTimeout(() => { p.child.stdout?.destroy(); p.child.stderr?.destroy() }, 2000).unref()
  }, opts.timeoutMs ?? 60000)
  return p.exited.then(({ code, signal }) => {
    clearTimeout(timer)
    return { code, signal, stdout: p.stdout(), stderr: p.stderr(), ms: Date.now() - t0 }
  })
}

/** How long `meshprof --version` takes right now: the CLI's start-up cost on this (possibly busy) host. */
export async function cliStartupMs(): Promise<number> {
  const r = await meshprof(['--version'])
  return r.ms
}

/** TCP ports the pid listens on (from ss, independent of meshprof's own /proc code). */
export function listenPortsOf(pid: number): number[] {
  const r = spawnSync('ss', ['-Hltnp'], { encoding: 'utf8' })
  const out: number[] = []
  for (const line of (r.stdout ?? '').split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue
    const m = /:(\d+)\s+\S+:\*/.exec(line) ?? /:(\d+)\s/.exec(line)
    if (m) out.push(Number(m[1]))
  }
  return out
}

/**
 * Tests that need 127.0.0.1:9229 (SIGUSR1 opens it) run one at a time across test files: an
 * exclusive lock directory, taken with mkdir.
 */
export async function withPort9229<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), 'meshprof-test-9229.lock')
  const end = Date.now() + 120000
  for (;;) {
    try {
      mkdirSync(lock)
      writeFileSync(join(lock, 'pid'), String(process.pid))
      break
    } catch {
      // stale lock from a killed run?
      try {
        const owner = Number(readFileSync(join(lock, 'pid'), 'utf8'))
        if (owner && !alive(owner)) {
          rmLock(lock)
          continue
        }
      } catch {
        // being created
      }
      if (Date.now() > end) throw new Error('could not get the 9229 test lock')
      await sleep(50)
    }
  }
  try {
    return await fn()
  } finally {
    rmLock(lock)
  }
}

function rmLock(lock: string): void {
  try {
    for (const f of readdirSync(lock)) try { spawnSync('rm', ['-f', join(lock, f)]) } catch { /* */ }
    rmdirSync(lock)
  } catch {
    // gone
  }
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8'))
}

export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).sort() : []
}

/** A small Node script in a temp dir. */
export function script(dir: string, name: string, body: string): string {
  const p = join(dir, name)
  writeFileSync(p, body)
  return p
}

/** Busy JS work on a timer, so profiles have something in them. */
export const BUSY_JS = `
function work() { let x = 0; for (let i = 0; i < 2e5; i++) x += Math.sqrt(i); return x }
setInterval(work, 10)
process.stdout.write('ready ' + process.pid + '\\n')
`

export function perfUsable(): boolean {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' })
  return !r.error && r.status === 0
}

export function gccPath(): string | undefined {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' })
  return !r.error && r.status === 0 ? 'gcc' : undefined
}

/** A CPU hog that never yields: `spinHot` holds the main thread for good. */
export const SPIN_JS = `
function spinHot() { let x = 0; for (let i = 0; i < 2e6; i++) x += Math.sqrt(i) * Math.sin(i); return x }
process.stdout.write('ready ' + process.pid + '\\n')
let total = 0
for (;;) total += spinHot()
`

/** Socket fds of a pid (inspector listeners, probe sockets: none may be left behind). */
export function socketFds(pid: number): string[] {
  const out: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (l.startsWith('socket:')) out.push(l)
    } catch {
      // closed meanwhile
    }
  }
  return out.sort()
}
