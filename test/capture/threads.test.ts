// Every thread's CPU. The inspector profiles the main thread and every worker thread (NodeWorker
// domain), each under its own root; the CPU of the threads no profile samples (the libuv pool, V8's
// helpers) is measured per thread from /proc/<pid>/task and said out loud, with the threads' names,
// in the capture summary, the capture file and analyze. Real processes.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { filesIn, killAll, meshprof, readJson, script, start, tmp, waitFor, withPort9229 } from './helpers.js'

after(killAll)

const UNPROFILED_RE = /(\d+\.\d+) of (\d+\.\d+) cores ran in threads that were not profiled \((\d+) threads?: ([^)]*)\)/

/** Start a script, capture it for 2 s through the inspector; the capture file and the CLI's output. */
async function captureOf(name: string, body: string, dir = tmp('threads'), window = '2s') {
  const p = start(process.execPath, [script(dir, `${name}.js`, body)])
  await waitFor(() => /ready/.test(p.stdout()), 10000, `${name} ready`)
  const out = join(dir, 'cap')
  const r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', window, '-o', out]))
  assert.equal(r.code, 0, r.stderr)
  const capName = filesIn(out).find((f) => f.endsWith('.capture.json'))!
  const cap = { ...readJson(join(out, capName)), dir: out }
  const analyze = await meshprof(['analyze', join(out, capName), '--level', 'info'])
  assert.equal(analyze.code, 0, analyze.stderr)
  await p.kill()
  return { pid: p.pid, r, cap, analyze }
}

test('CPU in the libuv pool (many crypto.pbkdf2 in flight) is reported as unprofiled, the threads named from /proc', async () => {
  const { pid, r, cap, analyze } = await captureOf('pool', `
const crypto = require('node:crypto')
function one() { crypto.pbkdf2('secret', 'salt', 20000, 64, 'sha512', () => one()) }
for (let i = 0; i < 16; i++) one()
process.stdout.write('ready\\n')
`)
  const threads: any[] = cap.process.threads
  const main = threads.find((t) => t.tid === pid)
  assert.ok(main && main.profiled === true, JSON.stringify(threads))
  // the pool: several threads hashing in parallel, none of them the profiled main thread (Node 20's
  // libuv leaves them named 'node'; later ones call them 'libuv-worker')
  const allNs = threads.reduce((s, t) => s + t.cpuNs, 0)
  const pool = threads.filter((t) => t.cpuNs >= 0.1 * allNs && t.tid !== pid)
  assert.ok(pool.length >= 2 && pool.every((t) => t.profiled === false), JSON.stringify(threads))
  const poolNs = pool.reduce((s, t) => s + t.cpuNs, 0)
  assert.ok(poolNs > 0.5 * allNs, `pool ${poolNs} of ${allNs} ns`)
  for (const text of [r.stdout, analyze.stdout]) {
    const m = UNPROFILED_RE.exec(text)
    assert.ok(m, text)
    assert.ok(Number(m[3]) >= pool.length, m[0])
    for (const t of pool) assert.ok(m[4]!.includes(`'${t.name}'`), m[0])
    assert.ok(Number(m[1]) > 0.5 * Number(m[2]), m[0])
  }
})

/** A worker that hashes in pure JavaScript (no allocation: no GC threads in the way), by name. */
const HASHER_JS = `
const { parentPort } = require('node:worker_threads')
function fnv(s, h) { for (let r = 0; r < 2000; r++) for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0 } return h }
const s = 'meshprof worker thread '.repeat(40)
let h = 2166136261
for (;;) h = fnv(s, h)
`

test('a worker thread hashing while the main thread idles: profiled through the inspector, its hot function on top, its root named, unexplained CPU under 10%, nothing flagged', async () => {
  const dir = tmp('workers')
  script(dir, 'hasher.js', HASHER_JS)
  const { pid, r, cap, analyze } = await captureOf('worker', `
const { Worker } = require('node:worker_threads')
new Worker(require('node:path').join(__dirname, 'hasher.js'), { name: 'hasher' })
setInterval(() => {}, 1000)
process.stdout.write('ready\\n')
`, dir)
  // the capture names the worker, maps it to its OS thread and marks that thread profiled
  assert.equal(cap.workers?.length, 1, JSON.stringify(cap.workers))
  const w = cap.workers[0]
  assert.equal(w.name, 'hasher')
  assert.ok(Number.isInteger(w.threadId) && w.threadId >= 1, JSON.stringify(w))
  assert.ok(w.profile?.file, JSON.stringify(w))
  const threads: any[] = cap.process.threads
  const hot = [...threads].sort((a, b) => b.cpuNs - a.cpuNs)[0]
  assert.equal(hot.tid, w.tid, `the hottest thread is the worker: ${JSON.stringify(threads)} ${JSON.stringify(w)}`)
  assert.notEqual(hot.tid, pid)
  assert.equal(hot.profiled, true)
  assert.ok(hot.cpuNs > 0.5 * cap.process.durationMs * 1e6 * 0.5, JSON.stringify(hot))
  assert.match(r.stdout, /via inspector: .*, 1 worker thread profiled/)
  // unexplained CPU under 10%: no sentence in the capture summary or analyze, none in analyze --json
  for (const text of [r.stdout, analyze.stdout]) assert.doesNotMatch(text, UNPROFILED_RE)
  const capFile = join(cap.dir, `${cap.process.name}-${cap.process.pid}.capture.json`)
  const j = await meshprof(['analyze', capFile, '--json', '--level', 'info'])
  const report = JSON.parse(j.stdout)
  assert.equal(report.profiles[0].unprofiledCpu, undefined)
  const profiledNs = threads.filter((t) => t.profiled).reduce((s, t) => s + t.cpuNs, 0)
  const allNs = threads.reduce((s, t) => s + t.cpuNs, 0)
  assert.ok(profiledNs >= 0.9 * allNs, `profiled ${profiledNs} of ${allNs} ns`)
  // nothing flagged on the idle main thread, nor on the worker's plain CPU-bound loop
  assert.deepEqual(report.findings.map((f: any) => `${f.ruleId} ${f.severity}: ${f.message}`), [])
  // top: the worker's hash function first, under the worker's root; the root holds its CPU
  const top = JSON.parse((await meshprof(['top', capFile, '--json', '-n', '0'])).stdout)
  assert.equal(top.rows[0].name, 'fnv', JSON.stringify(top.rows.slice(0, 3)))
  assert.ok(top.rows[0].selfShare > 0.5, JSON.stringify(top.rows[0]))
  const root = top.rows.find((x: any) => x.name === '[worker 1] hasher' || /^\[worker \d+\] hasher$/.test(x.name))
  assert.ok(root && root.kind === 'thread' && root.totalShare > 0.9, JSON.stringify(top.rows.filter((x: any) => x.kind === 'thread')))
  // --thread keeps one thread; a name that matches none lists the threads
  const only = JSON.parse((await meshprof(['top', capFile, '--json', '--thread', 'hasher'])).stdout)
  assert.equal(only.rows[0].name, top.rows[0].name)
  const none = await meshprof(['top', capFile, '--thread', '^nosuch$'])
  assert.equal(none.code, 2, none.stderr)
  assert.match(none.stderr, /^meshprof: --thread \^nosuch\$: no thread matches; threads: .*\[worker \d+\] hasher/)
  // the flamegraph has the worker's root above its stacks
  const html = join(dir, 'w.html')
  const fg = await meshprof(['flamegraph', capFile, '-o', html])
  assert.equal(fg.code, 0, fg.stderr)
  assert.ok(readFileSync(html, 'utf8').includes(`[worker ${w.threadId}] hasher`))
})

test('a worker started in the middle of the window is profiled from its first line', async () => {
  const dir = tmp('workers-late')
  script(dir, 'late.js', `
function firstMillis() { const t = Date.now(); let x = 0; while (Date.now() - t < 300) x += Math.sqrt(x + 1); return x }
function lateLoop() { let x = 0; for (;;) x = (x + Math.sqrt(x + 2)) % 1e9 }
firstMillis()
lateLoop()
`)
  // the main thread starts its worker 700 ms after the capture's window opened (the probe says so)
  const { cap } = await captureOf('late-main', `
const { Worker } = require('node:worker_threads')
const key = Symbol.for('meshprof.probe')
const poll = setInterval(() => {
  if (!globalThis[key] || !globalThis[key].inWindow) return
  clearInterval(poll)
  setTimeout(() => new Worker(require('node:path').join(__dirname, 'late.js'), { name: 'late' }), 700)
}, 20)
setInterval(() => {}, 1000)
process.stdout.write('ready\\n')
`, dir, '3s')
  assert.equal(cap.workers?.length, 1, JSON.stringify(cap.workers) + JSON.stringify(cap.warnings))
  const w = cap.workers[0]
  assert.equal(w.fromStart, true, JSON.stringify(w))
  assert.ok(w.startMs >= 500, JSON.stringify(w))
  const prof = readJson(join(cap.dir, w.profile.file))
  const hits = (name: string) => prof.nodes.filter((n: any) => n.callFrame.functionName === name).reduce((s: number, n: any) => s + n.hitCount, 0)
  // 300 ms of firstMillis at ~499 Hz is ~150 samples; a profiler attached late would miss them
  assert.ok(hits('firstMillis') >= 50, `firstMillis ${hits('firstMillis')} samples`)
  assert.ok(hits('lateLoop') >= 50, `lateLoop ${hits('lateLoop')} samples`)
  // on the window's clock: the worker's samples start where it started
  const top = JSON.parse((await meshprof(['top', join(cap.dir, `${cap.process.name}-${cap.process.pid}.capture.json`), '--json', '--thread', 'late'])).stdout)
  assert.ok(top.rows.some((x: any) => x.name === 'firstMillis'), JSON.stringify(top.rows.slice(0, 5)))
})

test('the main thread blocks mid-window while a worker runs: the main profile is rescued, the worker profile said lost, and no profiler is left running in any thread', async () => {
  const dir = tmp('workers-blocked')
  script(dir, 'ticker.js', `
const fs = require('node:fs')
function tick(n) { let x = 0; for (let i = 0; i < 1e5; i++) x += Math.sqrt(i + n); return x }
let n = 0
setInterval(() => { tick(n); fs.writeSync(1, 'tick ' + (++n) + '\\n') }, 50)
`)
  const p = start(process.execPath, [script(dir, 'blocker.js', `
const { Worker } = require('node:worker_threads')
new Worker(require('node:path').join(__dirname, 'ticker.js'), { name: 'ticker' })
function spinHot() { let x = 0; for (let i = 0; i < 2e6; i++) x += Math.sqrt(i) * Math.sin(i); return x }
const key = Symbol.for('meshprof.probe')
const poll = setInterval(() => {
  if (!globalThis[key] || !globalThis[key].inWindow) return
  clearInterval(poll)
  setTimeout(() => { let t = 0; for (;;) t += spinHot() }, 500)
}, 20)
process.stdout.write('ready\\n')
`)])
  await waitFor(() => /ready/.test(p.stdout()), 10000, 'blocker ready')
  const out = join(dir, 'cap')
  const r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', '3s', '-o', out]))
  assert.equal(r.code, 0, r.stderr)
  const cap = readJson(join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!))
  assert.ok(cap.profile?.file, JSON.stringify(cap))
  assert.ok(cap.warnings.some((x: string) => /1 worker thread profile lost: the main thread was blocked/.test(x)), JSON.stringify(cap.warnings))
  const top = JSON.parse((await meshprof(['top', join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!), '--json'])).stdout)
  assert.equal(top.rows[0].name, 'spinHot', JSON.stringify(top.rows.slice(0, 3)))
  // the worker keeps running, and every profiler's sampling thread (V8's 'v8:ProfEvntProc') is gone
  const ticks = () => (p.stdout().match(/tick \d+/g) ?? []).length
  const before = ticks()
  await waitFor(() => ticks() >= before + 5, 10000, 'the worker to keep ticking after the capture')
  await waitFor(() => !readdirSync(`/proc/${p.pid}/task`).some((t) => {
    try { return readFileSync(`/proc/${p.pid}/task/${t}/comm`, 'utf8').startsWith('v8:ProfEvntProc') } catch { return false }
  }), 10000, 'no V8 profiler thread left in the target')
  await p.kill()
})
