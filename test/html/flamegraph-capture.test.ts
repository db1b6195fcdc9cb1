// The pictures follow the CPU basis (issue 9), on profiles of real processes in real Chromium:
// - a mostly idle Node process: its flamegraph opens with no (idle) bar wider than its CPU work, and
//   the "Show idle" toggle puts the idle back (it was there: the node really was mostly idle);
// - before -> after of a fixed connect storm (real captures of the fixture mesh): the differential
//   page opens on the before shape, where the removed connect frames cover > 30% of the canvas;
// - a process with a worker thread: one root per thread.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { runCli } from '../helpers/cli.js'
import { MESH, capture, startMesh, until } from '../helpers/mesh.js'
import { CHROMIUM_SKIP, launchBrowser, openPage, type Opened } from './browser.js'
import { isConnectFrame } from '../../src/analyze/classify.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-html-cap-'))
const skip = CHROMIUM_SKIP
let browser: Browser | undefined
type Rect = { name: string | null; node: number; x: number; w: number; row: number; fill: string }

before(async () => { if (!skip) browser = await launchBrowser() })
after(async () => { await browser?.close(); rmSync(dir, { recursive: true, force: true }) })

async function open(file: string): Promise<Opened> {
  const o = await openPage(browser!, pathToFileURL(file).href)
  await o.page.waitForFunction(() => (window as unknown as { __meshprof?: { ready: boolean } }).__meshprof?.ready === true, null, { timeout: 10000 })
  return o
}
const rects = (page: Page): Promise<Rect[]> => page.evaluate(() => (window as unknown as { __meshprof: { rects(): Rect[] } }).__meshprof.rects())
const state = (page: Page): Promise<{ shape: string; showIdle: boolean }> => page.evaluate(() => (window as unknown as { __meshprof: { state(): never } }).__meshprof.state())
const canvasWidth = (page: Page): Promise<number> => page.evaluate(() => document.getElementById('canvas')!.getBoundingClientRect().width)
/** Width of the canvas covered by the given rectangles (union of their x ranges, any row). */
function covered(rs: Rect[]): number {
  const iv = rs.map((r) => [r.x, r.x + r.w] as [number, number]).sort((a, b) => a[0] - b[0])
  let sum = 0
  let end = -Infinity
  for (const [a, b] of iv) {
    if (b <= end) continue
    sum += b - Math.max(a, end)
    end = b
  }
  return sum
}

test('a mostly idle Node process: no idle bar wider than its CPU work at first paint; Show idle brings it back', { skip }, async () => {
  // a real process: a timer doing a little work every 50 ms for 2 s, profiled by V8 itself
  const script = join(dir, 'idle-node.js')
  writeFileSync(script, 'const end = Date.now() + 2000\nconst t = setInterval(function tick() { let s = 0; for (let i = 0; i < 20000; i++) s += Math.sqrt(i); if (Date.now() > end) clearInterval(t) }, 50)\n')
  const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', 'idle.cpuprofile', script], { encoding: 'utf8', timeout: 30000 })
  assert.equal(run.status, 0, run.stderr)
  const html = join(dir, 'idle.html')
  const r = await runCli(['flamegraph', join(dir, 'idle.cpuprofile'), '-o', html])
  assert.equal(r.code, 0, r.stderr)
  const o = await open(html)
  try {
    const page = o.page
    assert.equal((await state(page)).showIdle, false)
    const first = await rects(page)
    const all = first.find((x) => x.name === 'all')!
    const idle = first.filter((x) => x.name === '(idle)')
    const work = first.filter((x) => x.row === 1 && x.name !== '(idle)' && x.name !== 'all')
    const workW = work.reduce((t, x) => t + x.w, 0)
    assert.ok(workW > 0, 'the CPU work is drawn')
    assert.ok(idle.every((x) => x.w <= workW), `an (idle) bar of ${Math.max(...idle.map((x) => x.w))} px beside ${workW} px of work`)
    assert.ok(workW > 0.9 * all.w, 'the CPU work fills the graph')
    // the toggle shows what was hidden: this process was mostly idle
    assert.equal(await page.locator('#btn-idle').isVisible(), true)
    await page.click('#btn-idle')
    assert.equal((await state(page)).showIdle, true)
    const shown = await rects(page)
    const idleShown = shown.find((x) => x.name === '(idle)')
    const workShown = shown.filter((x) => x.row === 1 && x.name !== '(idle)' && x.name !== 'all').reduce((t, x) => t + x.w, 0)
    assert.ok(idleShown && idleShown.w > workShown, `idle ${idleShown?.w} vs work ${workShown}: the node was not mostly idle, the test proves nothing`)
    assert.deepEqual(o.pageErrors, [])
    assert.deepEqual(o.consoleErrors, [])
  } finally {
    await o.close()
  }
})

const MESH_SKIP = skip || (existsSync(MESH) ? false : 'fixtures/mesh/mesh.js missing')

test('before -> after of a fixed connect storm (real captures): opens on the before shape, removed connect frames > 30% of the canvas', { skip: MESH_SKIP }, async () => {
  const captureNode = async (mode: string) => {
    const mesh = await startMesh(mode, 3)
    try {
      await until(() => mesh.stats.size === 3 && [...mesh.stats.values()].every((s) => s.handshakes >= 2), `the ${mode} nodes to connect`)
      const out = await capture(dir, [mesh.pids[0]!], '3s', mode)
      return join(out, readdirSync(out).find((f) => f.endsWith('.capture.json'))!)
    } finally {
      await mesh.stop()
    }
  }
  const beforeFile = await captureNode('connect-storm')
  const afterFile = await captureNode('fixed')
  const html = join(dir, 'fix.html')
  const d = await runCli(['diff', beforeFile, afterFile, '--html', html], { timeoutMs: 60000 })
  assert.equal(d.code, 0, d.stderr)
  const o = await open(html)
  try {
    const page = o.page
    assert.equal((await state(page)).shape, 'before', 'a fix that removed CPU opens on the before shape')
    const rs = await rects(page)
    const connect = rs.filter((x) => x.name !== null && isConnectFrame(x.name) && x.node > 0)
    const width = await canvasWidth(page)
    const share = covered(connect) / width
    assert.ok(share > 0.3, `removed connect frames cover ${(share * 100).toFixed(1)}% of the canvas: ${connect.map((x) => `${x.name} ${x.w.toFixed(0)}`).join(', ')}`)
    // and they are drawn as shrunk (blue)
    const blue = connect.filter((x) => { const m = /rgb\((\d+),(\d+),(\d+)\)/.exec(x.fill); return m !== null && Number(m[3]) > Number(m[1]) + 60 })
    assert.ok(covered(blue) / width > 0.3, 'the removed connect frames are coloured as shrunk')
    process.stderr.write(`differential first paint: connect frames cover ${(share * 100).toFixed(1)}% of the canvas\n`)
    assert.deepEqual(o.pageErrors, [])
    assert.deepEqual(o.consoleErrors, [])
  } finally {
    await o.close()
  }
})

test('a process with a worker thread (real capture): one root per thread, the worker wider than the main thread, a thread chip in the legend', { skip }, async () => {
  writeFileSync(join(dir, 'hasher.js'), `
function fnv(s, h) { for (let r = 0; r < 2000; r++) for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0 } return h }
const s = 'meshprof worker thread '.repeat(40)
let h = 2166136261
for (;;) h = fnv(s, h)
`)
  writeFileSync(join(dir, 'with-worker.js'), `
const { Worker } = require('node:worker_threads')
new Worker(require('node:path').join(__dirname, 'hasher.js'), { name: 'hasher' })
function mainWork() { let x = 0; for (let i = 0; i < 3e6; i++) x += Math.sqrt(i); return x }
setInterval(mainWork, 50)
process.stdout.write('ready\\n')
`)
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [join(dir, 'with-worker.js')], { stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    let said = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { said += d })
    await until(() => said.includes('ready'), 'the process with a worker')
    const out = await capture(dir, [child.pid!], '2s', 'with-worker')
    const capFile = join(out, readdirSync(out).find((f) => f.endsWith('.capture.json'))!)
    const html = join(dir, 'threads.html')
    const r = await runCli(['flamegraph', capFile, '-o', html])
    assert.equal(r.code, 0, r.stderr)
    const o = await open(html)
    try {
      const rs = await rects(o.page)
      const roots = rs.filter((x) => x.row === 1)
      const main = roots.find((x) => x.name === '[main]')
      const worker = roots.find((x) => x.name !== null && /^\[worker \d+\] hasher$/.test(x.name))
      assert.ok(main && worker, roots.map((x) => `${x.name} ${x.w.toFixed(0)}`).join(', '))
      assert.ok(worker.w > 2 * main.w, `worker ${worker.w} px, main ${main.w} px`)
      assert.ok(rs.some((x) => x.name === 'fnv' && x.row > 1 && x.x >= worker.x && x.x + x.w <= worker.x + worker.w + 1), 'fnv is drawn under the worker root')
      assert.ok(rs.some((x) => x.name === 'mainWork' && x.x >= main.x && x.x + x.w <= main.x + main.w + 1), 'mainWork is drawn under the main root')
      assert.match(await o.page.locator('#legend').innerText(), /\bthread\b/)
      assert.deepEqual(o.pageErrors, [])
      assert.deepEqual(o.consoleErrors, [])
    } finally {
      await o.close()
    }
  } finally {
    child.kill('SIGKILL')
  }
})
