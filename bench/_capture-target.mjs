// Shared by the capture benches (capture-overhead, heap-overhead): the CPU-bound Node target that
// reports its op count and CPU time, a child-process starter that keeps output, and the rate reader.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const children = new Set()

// A CPU-bound workload with real call stacks: parse, transform, hash records; reports its op count.
const FIXTURE = `
let ops = 0
const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']
function makeRecord(i) { return JSON.stringify({ id: i, name: words[i & 7] + i, tags: words.slice(0, (i % 7) + 1), score: i * 1.5 }) }
function parseRecord(s) { return JSON.parse(s) }
function scoreRecord(r) { let h = 2166136261; for (const t of r.tags) for (let k = 0; k < t.length; k++) h = Math.imul(h ^ t.charCodeAt(k), 16777619); return (h >>> 0) + r.score }
function workUnit(i) { return scoreRecord(parseRecord(makeRecord(i))) }
let sink = 0
function loop() { const end = Date.now() + 20; while (Date.now() < end) { for (let k = 0; k < 50; k++) sink += workUnit(ops + k); ops += 50 } setImmediate(loop) }
setInterval(() => { const u = process.cpuUsage(); process.stdout.write('ops ' + ops + ' ' + Date.now() + ' ' + (u.user + u.system) + '\\n') }, 50)
setImmediate(loop)
`
/** Write the target script into dir; its path. */
export function writeFixture(dir) {
  const path = join(dir, 'cpu-bound.js')
  writeFileSync(path, FIXTURE)
  return path
}

export function startProc(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  children.add(child)
  child.on('exit', () => children.delete(child))
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d) => { out += d; if (out.length > 8e6) out = out.slice(-4e6) })
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d })
  const exited = new Promise((r) => child.on('exit', (code) => r(code)))
  return { child, out: () => out, err: () => err, exited }
}

/**
 * The fixture's rate between two epoch-ms instants, from its reports: ops per wall second (what a
 * user sees; noisy on a shared host) and ops per CPU second of the whole process (the profiler's
 * sampling thread included), which host load does not move.
 */
export function rate(text, from, to) {
  const pts = []
  for (const l of text.split('\n')) {
    const m = /^ops (\d+) (\d+) (\d+)$/.exec(l)
    if (m) pts.push([Number(m[2]), Number(m[1]), Number(m[3])])
  }
  const inside = pts.filter(([t]) => t >= from && t <= to)
  if (inside.length < 2) return { wall: NaN, cpu: NaN }
  const [t0, o0, c0] = inside[0]
  const [t1, o1, c1] = inside[inside.length - 1]
  return { wall: ((o1 - o0) / (t1 - t0)) * 1000, cpu: ((o1 - o0) / (c1 - c0)) * 1e6 }
}

