// Fuzz worker thread: runs cases in-process through the CLI's own entry (main) or the loader, with
// stdout/stderr captured. The parent bounds each case's time (terminate) and heap (resourceLimits).
import { parentPort } from 'node:worker_threads'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { main, reportError } from '../../src/cli/main.js'
import { loadFromSource, loadProfiles } from '../../src/formats/index.js'
import { fromBuffer } from '../../src/formats/source.js'
import { totalWeight } from '../../src/model/ops.js'
import { TARGETS } from './cases.js'

export interface CaseRequest {
  index: number
  dir: string
  target: string
  main: string
  other: string
  /** Self-test of the harness only: misbehave on purpose instead of running the case. */
  probe?: 'hang' | 'oom' | 'late-throw' | 'rss'
}

export interface CaseResult {
  index: number
  code: number
  stderr: string
  stdoutBytes: number
  ms: number
  /** Uncaught exceptions / unhandled rejections seen while the case ran. */
  uncaught: string[]
  /** Set when a loaded profile has a non-finite total. */
  badTotal?: string
}

const port = parentPort!
let stderr = ''
let stdoutBytes = 0
let uncaught: string[] = []
let current = -1
let busy = false

function capture(kind: 'out' | 'err') {
  return (chunk: unknown, ...rest: unknown[]): boolean => {
    const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')
    if (kind === 'out') stdoutBytes += s.length
    else if (stderr.length < 16384) stderr += s
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined
    if (cb) queueMicrotask(cb)
    return true
  }
}
process.stdout.write = capture('out') as typeof process.stdout.write
process.stderr.write = capture('err') as typeof process.stderr.write

function onUncaught(e: unknown): void {
  const msg = `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`
  if (busy) uncaught.push(msg)
  else port.postMessage({ type: 'late', index: current, error: msg })
}
process.on('uncaughtException', onUncaught)
process.on('unhandledRejection', onUncaught)

async function runImport(req: CaseRequest, format: string | undefined, via: 'file' | 'buffer'): Promise<{ code: number; badTotal?: string }> {
  const path = join(req.dir, req.main)
  try {
    const { profiles } = via === 'file'
      ? await loadProfiles(path, { format, warn: () => {} })
      : await loadFromSource(fromBuffer('-', readFileSync(path)), { format, warn: () => {} })
    for (const p of profiles) {
      const t = totalWeight(p)
      if (!Number.isFinite(t)) return { code: 0, badTotal: `total ${t}` }
    }
    return { code: 0 }
  } catch (e) {
    return { code: reportError(e) }
  }
}

port.on('message', async (req: CaseRequest) => {
  current = req.index
  busy = true
  stderr = ''
  stdoutBytes = 0
  uncaught = []
  process.exitCode = undefined
  const t0 = performance.now()
  const target = TARGETS.find((t) => t.id === req.target)!
  let code: number
  let badTotal: string | undefined
  if (req.probe === 'hang') for (;;);
  if (req.probe === 'oom') {
    const hog: number[][] = []
    for (;;) hog.push(new Array(1e5).fill(1.5))
  }
  if (req.probe === 'rss') {
    // 1 GiB outside the V8 heap (the heap bound does not see it; the RSS watch must).
    const big = Buffer.alloc(1 << 30, 1)
    await new Promise((r) => setTimeout(r, 600))
    big[0] = 2
  }
  if (req.probe === 'late-throw') setTimeout(() => { throw new Error('thrown after the result') }, 5)
  if (target.kind === 'import') {
    ;({ code, badTotal } = await runImport(req, target.format, target.via))
  } else {
    code = await main(target.args(join(req.dir, req.main), join(req.dir, req.other), req.dir))
  }
  process.exitCode = undefined
  // Let stream errors that fire just after the command resolved surface before the result.
  await new Promise((r) => setImmediate(r))
  busy = false
  const res: CaseResult = { index: req.index, code, stderr, stdoutBytes, ms: performance.now() - t0, uncaught, ...(badTotal ? { badTotal } : {}) }
  port.postMessage({ type: 'result', result: res })
})
port.postMessage({ type: 'ready' })
