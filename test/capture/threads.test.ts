// CPU that no profile explains: the inspector profiles the main thread only, so the CPU of the libuv
// pool and of worker threads is measured per thread from /proc/<pid>/task and said out loud, with the
// threads' names, in the capture summary, the capture file and analyze. Real processes.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { filesIn, killAll, meshprof, readJson, script, start, tmp, waitFor, withPort9229 } from './helpers.js'

after(killAll)

const UNPROFILED_RE = /(\d+\.\d+) of (\d+\.\d+) cores ran in threads that were not profiled \((\d+) threads?: ([^)]*)\)/

/** Start a script, capture it for 2 s through the inspector; the capture file and the CLI's output. */
async function captureOf(name: string, body: string) {
  const dir = tmp('threads')
  const p = start(process.execPath, [script(dir, `${name}.js`, body)])
  await waitFor(() => /ready/.test(p.stdout()), 10000, `${name} ready`)
  const out = join(dir, 'cap')
  const r = await withPort9229(() => meshprof(['capture', String(p.pid), '-d', '2s', '-o', out]))
  assert.equal(r.code, 0, r.stderr)
  const capName = filesIn(out).find((f) => f.endsWith('.capture.json'))!
  const cap = readJson(join(out, capName))
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

test('a worker thread hashing while the main thread idles: its CPU reported as unprofiled; nothing flagged on the idle main thread', async () => {
  const { r, cap, analyze } = await captureOf('worker', `
const { Worker } = require('node:worker_threads')
new Worker(\`
const crypto = require('node:crypto')
let h = Buffer.alloc(64)
for (;;) h = crypto.createHash('sha256').update(h).digest()
\`, { eval: true })
setInterval(() => {}, 1000)
process.stdout.write('ready\\n')
`)
  const threads: any[] = cap.process.threads
  const hot = [...threads].sort((a, b) => b.cpuNs - a.cpuNs)[0]
  assert.equal(hot.profiled, false, JSON.stringify(threads))
  assert.ok(hot.cpuNs > 0.5 * cap.process.durationMs * 1e6 * 0.5, JSON.stringify(hot))
  for (const text of [r.stdout, analyze.stdout]) {
    const m = UNPROFILED_RE.exec(text)
    assert.ok(m, text)
    assert.ok(m[4]!.includes(`'${hot.name}'`), m[0])
    assert.ok(Number(m[1]) > 0.3, m[0])
  }
  // the main thread's few busy samples make no finding (busy-wait from crumbs, or any other)
  const j = await meshprof(['analyze', join(r.stdout.match(/into (\S+)\//)![1]!, `${cap.process.name}-${cap.process.pid}.capture.json`), '--json', '--level', 'info'])
  const report = JSON.parse(j.stdout)
  assert.deepEqual(report.findings.map((f: any) => `${f.ruleId} ${f.severity}: ${f.message}`), [])
  assert.match(report.profiles[0].unprofiledCpu, UNPROFILED_RE)
})
