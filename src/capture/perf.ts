// perf back-end: `perf record -g` on a pid for the window, then `perf script` to text that the
// perf-script importer reads. Used for native targets (Rust, C, Go) and for --native beside a Node
// capture.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync, rmSync, statSync } from 'node:fs'
import { CaptureError, EXIT } from '../util/errors.js'

export interface PerfCheck {
  ok: boolean
  /** Sentence for the user when not ok. */
  problem?: string
  hint?: string
  /** Event to record: cpu-clock (kernel + user) or cpu-clock:u when only user space is allowed. */
  event: string
}

function paranoid(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim())
  } catch {
    return undefined
  }
}

/** Is perf installed and allowed? Never throws. */
export function checkPerf(): PerfCheck {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8', timeout: 5000 })
  if (r.error || r.status !== 0) {
    return {
      ok: false,
      event: 'cpu-clock',
      problem: 'perf is not installed (or not on PATH)',
      hint: 'install it: apt-get install linux-perf (Debian) / linux-tools-$(uname -r) (Ubuntu) / dnf install perf',
    }
  }
  const root = process.getuid?.() === 0
  const level = paranoid()
  if (!root && level !== undefined && level > 2) {
    return {
      ok: false,
      event: 'cpu-clock:u',
      problem: `kernel.perf_event_paranoid is ${level}: perf may not profile processes here`,
      hint: 'run: sudo sysctl kernel.perf_event_paranoid=1 (or run meshprof as root)',
    }
  }
  return { ok: true, event: !root && level !== undefined && level > 1 ? 'cpu-clock:u' : 'cpu-clock' }
}

export function perfError(check: PerfCheck, what: string): CaptureError {
  return new CaptureError(`${what}: ${check.problem}`, EXIT.TOOL, check.hint)
}

/**
 * One `perf record -p`. It starts with its events disabled (`-D -1 --control fd:3,4`) and is enabled
 * at the window start, because perf itself may need a second or more to attach on a busy host; the
 * window then begins when perf acknowledges. perf older than 5.10 has no --control: it records from
 * when it is ready, after a short settle.
 */
export class PerfRecording {
  proc!: ChildProcess
  private stderr = ''
  exited!: Promise<number | null>
  private control = true
  private ready!: Promise<boolean>
  /** Epoch ms when recording began (enable acknowledged). */
  startedAt = 0
  stoppedAt = 0

  constructor(readonly pid: number, readonly dataFile: string, readonly rateHz: number, readonly event: string) {
    this.spawn(true)
  }

  private spawn(control: boolean): void {
    this.control = control
    const args = ['record', ...(control ? ['--control', 'fd:3,4', '-D', '-1'] : []), '-e', this.event, '-g', '-F', String(Math.max(1, Math.round(this.rateHz))), '-p', String(this.pid), '-o', this.dataFile]
    const proc = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe', ...(control ? (['pipe', 'pipe'] as const) : [])] })
    this.proc = proc
    let readyResolve!: (ok: boolean) => void
    this.ready = new Promise((r) => { readyResolve = r })
    proc.stderr!.setEncoding('utf8')
    proc.stderr!.on('data', (d: string) => {
      if (this.stderr.length < 65536) this.stderr += d
      if (/Events disabled/.test(d)) readyResolve(true)
    })
    for (const fd of [3, 4]) (proc.stdio[fd] as NodeJS.ReadWriteStream | undefined)?.on?.('error', () => {})
    this.exited = new Promise((resolve) => {
      proc.on('error', (e) => { this.stderr += e.message; readyResolve(false); resolve(-1) })
      proc.on('exit', (code) => { readyResolve(false); resolve(code) })
    })
    if (!control) setTimeout(() => readyResolve(true), 300)
  }

  /** Wait until perf is attached (or gave up). False: perf failed; see problem(). */
  async waitReady(timeoutMs = 10000): Promise<boolean> {
    const t = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())
    const ok = await Promise.race([this.ready, t])
    if (!ok && this.control && /control|unknown option|usage:/i.test(this.stderr)) {
      // perf < 5.10: no --control
      this.stderr = ''
      this.spawn(false)
      return Promise.race([this.ready, t])
    }
    return ok
  }

  /** Start recording; resolves when perf has acknowledged. */
  async enable(timeoutMs = 3000): Promise<void> {
    if (!this.control) {
      this.startedAt = Date.now()
      return
    }
    const ack = this.proc.stdio[4] as NodeJS.ReadableStream | undefined
    const acked = new Promise<void>((resolve) => {
      ack?.once('data', () => resolve())
      setTimeout(resolve, timeoutMs).unref()
      this.exited.then(() => resolve())
    })
    ;(this.proc.stdio[3] as NodeJS.WritableStream | undefined)?.write('enable\n')
    await acked
    this.startedAt = Date.now()
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  /** Ends the recording (disable, then SIGINT as Ctrl-C would) and waits for perf to write its file. */
  async stop(timeoutMs = 15000): Promise<void> {
    this.stoppedAt = Date.now()
    if (this.running && this.control) {
      try {
        (this.proc.stdio[3] as NodeJS.WritableStream | undefined)?.write('disable\n')
      } catch {
        // gone
      }
    }
    if (this.running) this.proc.kill('SIGINT')
    const t = setTimeout(() => { if (this.running) this.proc.kill('SIGKILL') }, timeoutMs)
    await this.exited
    clearTimeout(t)
  }

  /** Why perf failed, as one line, with what to do. */
  problem(): { message: string; hint?: string } | undefined {
    const s = this.stderr
    let size = 0
    try {
      size = statSync(this.dataFile).size
    } catch {
      size = 0
    }
    if (size > 0 && /Captured and wrote/.test(s)) return undefined
    if (/Captured and wrote/.test(s) === false && /Events (en|dis)abled/.test(s) && size > 0 && !/Permission|paranoid|not permitted/i.test(s)) return { message: `perf was interrupted before it wrote pid ${this.pid}'s samples` }
    if (/paranoid|perf_event_open|Permission|not permitted/i.test(s)) {
      const lvl = paranoid()
      return { message: `perf may not profile pid ${this.pid}${lvl !== undefined ? ` (kernel.perf_event_paranoid is ${lvl})` : ''}`, hint: 'run: sudo sysctl kernel.perf_event_paranoid=1 (or run meshprof as root / as the owner of the process)' }
    }
    if (/No such process|doesn't exist/i.test(s)) return { message: `pid ${this.pid} exited before perf could attach` }
    const first = s.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('[ perf record'))
    return { message: `perf record failed for pid ${this.pid}${first ? `: ${first}` : ''}` }
  }
}

/** `perf script` the recording into a text file (the raw capture); removes the perf.data on success. Returns the bytes written. */
export async function perfScript(dataFile: string, outFile: string, timeoutMs = 120000): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(outFile)
    // --no-inline: addr2line for inlined frames takes minutes on a large binary such as node.
    // -F +pid: event lines say comm pid/tid, so --tid names threads as comm-pid/tid.
    const p = spawn('perf', ['script', '-i', dataFile, '--no-inline', '-F', '+pid'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    p.stderr.setEncoding('utf8')
    p.stderr.on('data', (d: string) => { if (err.length < 8192) err += d })
    p.stdout.pipe(out)
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    p.on('error', (e) => { clearTimeout(t); reject(new CaptureError(`perf script failed: ${e.message}`, EXIT.TOOL)) })
    p.on('close', (code) => {
      clearTimeout(t)
      out.end(() => {
        if (code === 0) resolve()
        else reject(new CaptureError(`perf script failed (exit ${code}): ${err.split('\n')[0] ?? ''}`, EXIT.TOOL))
      })
    })
  })
  rmSync(dataFile, { force: true })
  rmSync(dataFile + '.old', { force: true })
  return statSync(outFile).size
}
