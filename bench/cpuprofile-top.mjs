// Bench: `meshprof top` on a 50 MB / 320k-node V8 .cpuprofile, against `flamebearer` 2.1.0 (a
// devDependency: it reads the same file and prints its own top-CPU summary) in the same run.
// The input is generated deterministically (seeded PRNG) into bench/out/ on first use, shaped like
// `node --cpu-prof` output: (root) with (program) / (idle) / (garbage collector), a call tree over
// 6,000 functions in 400 scripts (node_modules packages, node: internals, app files), 300k samples.
// Run after `npm run build`: node bench/cpuprofile-top.mjs
import { existsSync, mkdirSync, statSync, createWriteStream } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { best, table } from './_proc.mjs'
import { mulberry32 } from './_flamegen.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })

const N_NODES = 320_000
const N_SAMPLES = 300_000
const file = join(out, `formats-cpuprofile-${N_NODES / 1000}k.cpuprofile`)


async function generate(path) {
  const rnd = mulberry32(20240607)
  const int = (n) => Math.floor(rnd() * n)
  const scripts = []
  for (let i = 0; i < 400; i++) {
    if (i < 60) scripts.push(`node:internal/${['timers', 'streams/readable', 'net', 'tls/wrap', 'crypto/hash', 'process/task_queues', 'event_target'][i % 7]}${i >= 7 ? i : ''}`)
    else if (i < 300) scripts.push(`file:///srv/node_modules/${i % 3 === 0 ? '@acme/' : ''}pkg${i}/x${i % 13}.js`)
    else scripts.push(`file:///srv/src/m${i}.js`)
  }
  const fns = []
  for (let i = 0; i < 6000; i++) fns.push({ name: i % 17 === 0 ? '' : `fn${i}${['', 'Handler', 'Peer', 'connect', 'write', 'parse'][i % 6]}`, script: i % 400, line: 1 + int(3000), col: int(80) })
  // Tree: node k (k >= 5) hangs under a random recent node, giving depth ~30-80 and wide fan-out.
  const parent = new Int32Array(N_NODES + 1)
  const depth = new Int32Array(N_NODES + 1)
  const fnOf = new Int32Array(N_NODES + 1)
  parent[1] = 0
  for (let id = 2; id <= 4; id++) { parent[id] = 1; depth[id] = 1 }
  for (let id = 5; id <= N_NODES; id++) {
    let p = id - 1 - Math.floor(Math.pow(rnd(), 3) * Math.min(id - 5, 2000))
    if (p < 5 || depth[p] > 90) p = 5 + int(Math.max(1, Math.min(id - 5, 200)))
    if (id === 5) p = 1
    parent[id] = p
    depth[id] = depth[p] + 1
    fnOf[id] = Math.floor(Math.pow(rnd(), 1.5) * fns.length)
  }
  const children = Array.from({ length: N_NODES + 1 }, () => [])
  for (let id = 2; id <= N_NODES; id++) children[parent[id]].push(id)
  const ws = createWriteStream(path)
  const write = (s) => new Promise((res) => (ws.write(s) ? res() : ws.once('drain', res)))
  await write('{"nodes":[')
  let buf = ''
  for (let id = 1; id <= N_NODES; id++) {
    let cf
    if (id === 1) cf = { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }
    else if (id <= 4) cf = { functionName: ['(program)', '(idle)', '(garbage collector)'][id - 2], scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }
    else {
      const f = fns[fnOf[id]]
      const native = f.script % 50 === 7
      cf = { functionName: native ? `native${fnOf[id]}` : f.name, scriptId: String(native ? 0 : 100 + f.script), url: native ? '' : scripts[f.script], lineNumber: native ? -1 : f.line, columnNumber: native ? -1 : f.col }
    }
    const node = { id, callFrame: cf, hitCount: 0 }
    if (children[id].length) node.children = children[id]
    buf += (id > 1 ? ',' : '') + JSON.stringify(node)
    if (buf.length > 1 << 20) { await write(buf); buf = '' }
  }
  await write(buf + '],"startTime":1000000000,"endTime":')
  const samples = []
  const deltas = []
  let t = 1000000000
  for (let i = 0; i < N_SAMPLES; i++) {
    const r = rnd()
    const node = r < 0.05 ? 3 : r < 0.07 ? 4 : r < 0.08 ? 2 : 5 + Math.floor(Math.pow(rnd(), 0.7) * (N_NODES - 5))
    const d = 900 + int(250)
    t += d
    samples.push(node)
    deltas.push(d)
  }
  await write(`${t + 500},"samples":[${samples.join(',')}],"timeDeltas":[${deltas.join(',')}]}`)
  await new Promise((res) => ws.end(res))
}

if (!existsSync(file)) {
  process.stderr.write(`generating ${file} ...\n`)
  await generate(file)
}
const sizeMB = statSync(file).size / 1048576
if (process.argv.includes('--generate-only')) process.exit(0)

const bin = join(root, 'bin', 'meshprof.js')
const ours = await best(3, process.execPath, [bin, 'top', file, '--limit', '20'])
if (ours.code !== 0) { console.error(ours.stderr); process.exit(1) }
const fbBin = join(root, 'node_modules', 'flamebearer', 'bin', 'flamebearer')
let fb
if (existsSync(fbBin)) {
  // flamebearer 2.1.0 calls Map.groupBy (Node >= 21); on Node 20 a 6-line polyfill is preloaded.
  const polyfill = 'data:text/javascript,' + encodeURIComponent('if(!Map.groupBy)Map.groupBy=(it,f)=>{const m=new Map();let i=0;for(const x of it){const k=f(x,i++);const a=m.get(k);if(a)a.push(x);else m.set(k,[x])}return m}')
  fb = await best(3, process.execPath, ['--import', polyfill, fbBin, file, '--no-color'])
  if (fb.code !== 0) { console.error(fb.stderr); fb = undefined }
}
const ratio = fb ? ours.ms / fb.ms : null
const summary = {
  file,
  sizeMB: +sizeMB.toFixed(1),
  nodes: N_NODES,
  samples: N_SAMPLES,
  meshprof: { ms: Math.round(ours.ms), cpuMs: ours.cpuMs === undefined ? null : Math.round(ours.cpuMs), rssMB: Math.round(ours.rssMB) },
  flamebearer: fb ? { ms: Math.round(fb.ms), cpuMs: fb.cpuMs === undefined ? null : Math.round(fb.cpuMs), rssMB: Math.round(fb.rssMB), version: '2.1.0' } : 'skipped (npm ci installs it as a devDependency)',
  ratioVsFlamebearer: ratio === null ? null : +ratio.toFixed(3),
  cpuRatioVsFlamebearer: fb && ours.cpuMs !== undefined && fb.cpuMs ? +(ours.cpuMs / fb.cpuMs).toFixed(3) : null,
  goal: 'meshprof top < 0.6x flamebearer',
  pass: ratio === null ? null : ratio < 0.6,
}
const sec = (x) => (x === undefined ? '-' : `${(x / 1000).toFixed(2)} s`)
console.log(table([
  ['tool (best of 3)', 'wall', 'cpu', 'peak RSS', 'wall ratio'],
  ['meshprof top', sec(ours.ms), sec(ours.cpuMs), `${ours.rssMB.toFixed(0)} MB`, ratio === null ? '-' : `${ratio.toFixed(3)}x`],
  ['flamebearer 2.1.0', fb ? sec(fb.ms) : 'skipped', fb ? sec(fb.cpuMs) : '-', fb ? `${fb.rssMB.toFixed(0)} MB` : '-', fb ? '1x' : '-'],
]))
console.log(`input: ${file} (${sizeMB.toFixed(1)} MB, ${N_NODES} nodes, ${N_SAMPLES} samples)`)
console.log('BENCH_JSON ' + JSON.stringify(summary))
