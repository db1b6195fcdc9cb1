// Bench: `meshprof flamegraph` — time to write the HTML, its size, peak RSS, and time to first
// paint in headless Chromium, for 1k, 10k and 100k unique stacks (deterministic folded files,
// depth ~27, shared prefixes, ~1.2M samples at 100k), plus a 320k-node .cpuprofile.
// References measured in the same run:
//   - FlameGraph's flamegraph.pl on the same folded files, when FLAMEGRAPH_DIR points at a
//     checkout of https://github.com/brendangregg/FlameGraph (else "skipped");
//   - `0x --visualize-cpu-profile` (devDependency 0x@6) on the same .cpuprofile.
// Run after `npm run build`: node bench/flamegraph.mjs   (inputs are generated into bench/out/)
// Env: FLAMEGRAPH_DIR, BENCH_RUNS (best of N, default 3), BENCH_SKIP_BROWSER=1.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { measure, table } from './_proc.mjs'
import { generateFolded, generateCpuprofile } from './_flamegen.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })
const BIN = join(root, 'bin', 'meshprof.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const FG = process.env.FLAMEGRAPH_DIR
const MB = (b) => b / (1024 * 1024)

// CPU time (user + sys) of a command, from GNU time: on a shared, busy machine wall time swings
// with the load while CPU time stays close to what the work costs.
const GNU_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0
async function bestWithCpu(n, cmd, args) {
  let b
  for (let i = 0; i < n; i++) {
    const r = GNU_TIME ? await measure('/usr/bin/time', ['-f', '@@CPU@@%U %S', cmd, ...args]) : await measure(cmd, args)
    const i2 = r.stderr.lastIndexOf('@@CPU@@')
    if (i2 >= 0) {
      const [u, sy] = r.stderr.slice(i2 + 7).trim().split(/\s+/).map(Number)
      r.cpuMs = (u + sy) * 1000
      r.stderr = r.stderr.slice(0, i2)
    }
    if (r.code !== 0) return r
    if (!b || r.ms < b.ms) b = r
  }
  return b
}

function ensure(path, make) {
  if (!existsSync(path)) {
    process.stderr.write(`generating ${path} ...\n`)
    writeFileSync(path, make())
  }
  return path
}

const SIZES = [1000, 10000, 100000]
const inputs = SIZES.map((n) => ({ n, file: ensure(join(out, `flame-${n / 1000}k.folded`), () => generateFolded(n)) }))
const cpuprofile = ensure(join(out, 'cpuprofile-320k.cpuprofile'), () => generateCpuprofile(320000))

const results = { folded: [], cpuprofile: {}, goals: {} }

// ---- write the HTML -----------------------------------------------------------------------------
for (const { n, file } of inputs) {
  const html = join(out, `flame-${n / 1000}k.html`)
  const r = await bestWithCpu(RUNS, process.execPath, [BIN, 'flamegraph', file, '-o', html])
  if (r.code !== 0) throw new Error(`meshprof flamegraph failed: ${r.stderr}`)
  const row = { stacks: n, inputMB: +MB(statSync(file).size).toFixed(1), ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs ?? NaN), rssMB: Math.round(r.rssMB), htmlMB: +MB(statSync(html).size).toFixed(2), html }
  if (FG) {
    const svg = join(out, `flame-${n / 1000}k.flamegraph-pl.svg`)
    const f = await bestWithCpu(1, 'sh', ['-c', `exec perl "${join(FG, 'flamegraph.pl')}" "${file}" > "${svg}"`])
    if (f.code === 0) Object.assign(row, { plMs: Math.round(f.ms), plCpuMs: Math.round(f.cpuMs ?? NaN), plRssMB: Math.round(f.rssMB), plSvgMB: +MB(statSync(svg).size).toFixed(2), speedup: +(f.ms / r.ms).toFixed(1) })
    else row.pl = `failed: ${f.stderr.trim().split('\n').pop()}`
  }
  results.folded.push(row)
}

// ---- .cpuprofile vs 0x --------------------------------------------------------------------------
{
  const html = join(out, 'cpuprofile-320k.html')
  const r = await bestWithCpu(RUNS, process.execPath, [BIN, 'flamegraph', cpuprofile, '-o', html])
  if (r.code !== 0) throw new Error(`meshprof flamegraph (cpuprofile) failed: ${r.stderr}`)
  results.cpuprofile = { nodes: 320000, inputMB: +MB(statSync(cpuprofile).size).toFixed(1), ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs ?? NaN), rssMB: Math.round(r.rssMB), htmlMB: +MB(statSync(html).size).toFixed(2), html }
  let zeroX
  try {
    zeroX = join(dirname(createRequire(import.meta.url).resolve('0x/package.json')), 'cmd.js')
  } catch {
    results.cpuprofile.zeroX = 'skipped: 0x not installed (npm install --save-dev 0x@6)'
  }
  if (zeroX) {
    const zhtml = join(out, 'cpuprofile-320k.0x.html')
    const z = await bestWithCpu(RUNS, process.execPath, [zeroX, '--visualize-cpu-profile', cpuprofile, '-F', zhtml, '-q'])
    if (z.code === 0 && existsSync(zhtml)) Object.assign(results.cpuprofile, { zeroXMs: Math.round(z.ms), zeroXCpuMs: Math.round(z.cpuMs ?? NaN), zeroXRssMB: Math.round(z.rssMB), zeroXHtmlMB: +MB(statSync(zhtml).size).toFixed(2), ratio: +(r.ms / z.ms).toFixed(2) })
    else results.cpuprofile.zeroX = `failed (exit ${z.code}): ${z.stderr.trim().split('\n').pop()}`
  }
}

// ---- first paint in Chromium --------------------------------------------------------------------
async function browserTimes() {
  if (process.env.BENCH_SKIP_BROWSER) return 'skipped (BENCH_SKIP_BROWSER)'
  const { hasChromium, launchChromium, CHROMIUM } = await import('../scripts/chromium.mjs')
  if (!hasChromium()) return `skipped: no Chromium at ${CHROMIUM}`
  const browser = await launchChromium()
  try {
    const pages = [...results.folded.map((r) => ['folded', r]), ['cpuprofile', results.cpuprofile]]
    for (const [, row] of pages) {
      let bestPaint
      for (let i = 0; i < RUNS; i++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
        const t0 = Date.now()
        await page.goto(pathToFileURL(row.html).href)
        await page.waitForFunction(() => window.__meshprof?.ready === true && window.__meshprof.firstPaintMs > 0, null, { timeout: 60000 })
        const wall = Date.now() - t0
        const m = await page.evaluate(() => {
          const api = window.__meshprof
          // responsiveness: one search over every frame and one zoom, each redrawn synchronously
          const input = document.getElementById('search')
          let t = performance.now()
          input.value = '/connect|handshake|tls/i'
          input.dispatchEvent(new Event('input'))
          const searchMs = performance.now() - t
          input.value = ''
          input.dispatchEvent(new Event('input'))
          const rects = api.rects().filter((r) => r.node > 0 && r.row === 2).sort((a, b) => b.w - a.w)
          const c = document.getElementById('canvas').getBoundingClientRect()
          t = performance.now()
          if (rects[0]) document.getElementById('canvas').dispatchEvent(new MouseEvent('click', { clientX: c.left + rects[0].x + 2, clientY: c.top + rects[0].y + 5, bubbles: true }))
          const zoomMs = performance.now() - t
          return { firstPaintMs: api.firstPaintMs, nodes: api.nodes, searchMs, zoomMs, zoomed: api.state().zoom > 0 }
        })
        await page.close()
        if (!bestPaint || m.firstPaintMs < bestPaint.firstPaintMs) bestPaint = { ...m, wallMs: wall }
      }
      Object.assign(row, { paintMs: Math.round(bestPaint.firstPaintMs), loadWallMs: bestPaint.wallMs, treeNodes: bestPaint.nodes - 1, searchMs: Math.round(bestPaint.searchMs), zoomMs: Math.round(bestPaint.zoomMs) })
    }
  } finally {
    await browser.close()
  }
  return 'ok'
}
results.browser = await browserTimes()

// ---- report -------------------------------------------------------------------------------------
const big = results.folded.find((r) => r.stacks === 100000)
const cp = results.cpuprofile
results.goals = {
  write100kUnder2s: big.ms < 2000,
  sixTimesFlamegraphPl: big.speedup === undefined ? 'skipped (set FLAMEGRAPH_DIR)' : big.speedup >= 6,
  htmlUnder20MB: big.htmlMB < 20,
  firstPaintUnder2s: big.paintMs === undefined ? 'skipped' : big.paintMs < 2000,
  cpuprofileUnderHalfOf0x: cp.ratio === undefined ? `skipped (${cp.zeroX})` : cp.ratio < 0.5,
}

const head = ['input', 'write ms', 'CPU ms', 'peak RSS MB', 'HTML MB', 'first paint ms', 'search ms', 'zoom ms', 'flamegraph.pl ms', 'pl CPU ms', 'pl RSS MB', 'pl SVG MB', 'speed-up']
const rows = [head]
for (const r of results.folded) rows.push([`${r.stacks / 1000}k stacks (${r.inputMB} MB folded)`, r.ms, r.cpuMs, r.rssMB, r.htmlMB, r.paintMs ?? '-', r.searchMs ?? '-', r.zoomMs ?? '-', r.plMs ?? (FG ? r.pl : 'skipped'), r.plCpuMs ?? '-', r.plRssMB ?? '-', r.plSvgMB ?? '-', r.speedup ? `${r.speedup}x` : '-'])
rows.push([`.cpuprofile 320k nodes (${cp.inputMB} MB)`, cp.ms, cp.cpuMs, cp.rssMB, cp.htmlMB, cp.paintMs ?? '-', cp.searchMs ?? '-', cp.zoomMs ?? '-', '-', '-', '-', '-', '-'])
console.log(table(rows))
if (cp.zeroXMs !== undefined) console.log(`\n0x --visualize-cpu-profile on the same .cpuprofile: ${cp.zeroXMs} ms (CPU ${cp.zeroXCpuMs} ms), peak RSS ${cp.zeroXRssMB} MB, ${cp.zeroXHtmlMB} MB HTML; meshprof takes ${cp.ratio}x of 0x's time`)
else console.log(`\n0x: ${cp.zeroX}`)
if (!FG) console.log('flamegraph.pl: skipped (set FLAMEGRAPH_DIR to a FlameGraph checkout)')
console.log(`browser: ${results.browser}`)
const load = (await import('node:os')).loadavg()[0]
results.loadAvg = +load.toFixed(1)
console.log(`load average during the run: ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} CPUs (wall times are only comparable on an otherwise idle machine; CPU times less affected)`)
console.log('goals:', JSON.stringify(results.goals))
for (const r of [...results.folded, cp]) delete r.html
console.log('BENCH_JSON ' + JSON.stringify({ area: 'flamegraph', node: process.version, ...results }))
