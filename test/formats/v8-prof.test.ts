// V8 tick profiles: real fixtures made here by running 0x (devDependency) and `node --prof` on one
// small workload, checked against a `node --cpu-prof` recording of the same workload (the hottest
// function agrees); the corpus's node 8 log; a `<pid>.0x/` folder read as a whole (JSON first, else
// the log, meta.json's command line); truncated logs and empty folders: one line, exit 4.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CORPUS, CORPUS_SKIP, ROOT, isCleanFailure, runCli } from '../helpers/cli.js'
import { loadProfiles } from '../../src/formats/index.js'
import { validateProfile } from '../../src/model/builder.js'
import { totalWeight } from '../../src/model/ops.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-v8prof-'))
// `hot` is big enough (bytecode) that TurboFan does not inline it into its caller, so every tool
// attributes its ticks to it rather than to the loop that calls it.
const WORKLOAD = `
function hot(n) {
  let s = 0
  for (let i = 0; i < n; i++) s = (s * 31 + i) | 0
  if (n < 0) { ${Array.from({ length: 60 }, (_, i) => `s += String(n).length * ${i} + Math.floor(n / ${i + 2})`).join('; ')} }
  return s
}
function warm(n) {
  let s = 0
  for (let i = 0; i < n; i++) s = (s + i * 7) | 0
  return s
}
const end = Date.now() + 2000
let x = 0
while (Date.now() < end) { x ^= hot(400000); x ^= warm(40000) }
if (x === 42) console.log(x)
`
writeFileSync(join(dir, 'work.js'), WORKLOAD)

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stderr = ''
    c.stderr.on('data', (d) => { stderr += d })
    const timer = setTimeout(() => c.kill('SIGKILL'), 120_000)
    c.on('error', reject)
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }) })
  })
}

async function hottest(path: string): Promise<{ name: string; share: number; total: number }> {
  const r = await runCli(['top', path, '--json', '-n', '1'], { timeoutMs: 120_000 })
  assert.equal(r.code, 0, `${path}: ${r.stderr}`)
  const j = JSON.parse(r.stdout)
  return { name: j.rows[0].name, share: j.rows[0].self / j.total, total: j.total }
}

function tickLines(log: string): number {
  return readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('tick,')).length
}

// The three recordings, once; each test below reads them.
const cpuDir = join(dir, 'cpu')
const profDir = join(dir, 'prof')
const zeroxDir = join(dir, 'zerox')
for (const d of [cpuDir, profDir, zeroxDir]) mkdirSync(d)
const recordings = Promise.all([
  run(process.execPath, ['--cpu-prof', '--cpu-prof-dir', cpuDir, join(dir, 'work.js')], dir),
  run(process.execPath, ['--prof', join(dir, 'work.js')], profDir),
  run(join(ROOT, 'node_modules', '.bin', '0x'), ['-q', join(dir, 'work.js')], zeroxDir),
])

async function fixtures() {
  const rs = await recordings
  for (const r of rs) assert.equal(r.code, 0, r.stderr)
  const cpuprofile = join(cpuDir, readdirSync(cpuDir).find((f) => f.endsWith('.cpuprofile'))!)
  const log = join(profDir, readdirSync(profDir).find((f) => /^isolate-.*-v8\.log$/.test(f))!)
  const folderName = readdirSync(zeroxDir).find((f) => /^\d+\.0x$/.test(f))!
  assert.ok(folderName, `0x wrote no <pid>.0x folder: ${readdirSync(zeroxDir).join(', ')}`)
  return { cpuprofile, log, folder: join(zeroxDir, folderName), pid: Number(folderName.split('.')[0]) }
}

test('top of a 0x folder and of a node --prof log agree with a --cpu-prof recording on the hottest function', async () => {
  const f = await fixtures()
  const cpu = await hottest(f.cpuprofile)
  const prof = await hottest(f.log)
  const zerox = await hottest(f.folder)
  assert.equal(cpu.name, 'hot', `--cpu-prof's hottest function is the workload's: ${cpu.name}`)
  assert.equal(prof.name, cpu.name, `node --prof log: ${prof.name}`)
  assert.equal(zerox.name, cpu.name, `0x folder: ${zerox.name}`)
  // Same workload, same function, and it is most of the CPU in all three (0x's own preload and the
  // log writing take a share of a short run, more on a loaded machine, so the shares differ).
  for (const [what, x] of [['--cpu-prof', cpu], ['--prof', prof], ['0x', zerox]] as const) {
    assert.ok(x.share > 0.5, `${what}: hot has ${(x.share * 100).toFixed(1)}% of the samples`)
  }
  // Every tick of the log is one sample (independent count: the log's tick lines).
  assert.equal(prof.total, tickLines(f.log))
})

test('a 0x folder is read as a whole: the JSON when present, else the log; meta.json gives command and pid', async () => {
  const f = await fixtures()
  const v = await runCli(['top', f.folder, '--verbose', '-n', '1'], { timeoutMs: 120_000 })
  assert.equal(v.code, 0, v.stderr)
  assert.match(v.stderr, /isolate-[^ ]*-v8\.log\.json: detected v8-prof/, 'the preprocessed JSON is read')
  const { format, profiles } = await loadProfiles(f.folder)
  assert.equal(format, 'v8-prof')
  assert.equal(profiles.length, 1)
  const p = profiles[0]!
  assert.deepEqual(validateProfile(p), [])
  const meta = JSON.parse(readFileSync(join(f.folder, 'meta.json'), 'utf8'))
  assert.equal(p.meta.pid, f.pid, 'pid from meta.json, as in the folder name')
  assert.equal(p.meta.command, meta.title)
  assert.match(p.meta.command!, /work\.js/)
  assert.ok(p.meta.durationNs! > 0.5e9 && p.meta.durationNs! < 30e9, `duration ${p.meta.durationNs}`)
  // Timestamps per tick, within the window.
  assert.equal(p.times?.length, p.sampleStack.length)
  const json = JSON.parse(readFileSync(join(f.folder, readdirSync(f.folder).find((n) => n.endsWith('.log.json'))!), 'utf8').replace(/^[^{]*/, ''))
  assert.equal(totalWeight(p), json.ticks.length)

  // Without the JSON the folder falls back to the log itself.
  const logOnly = join(dir, `${f.pid}-log-only.0x`)
  mkdirSync(logOnly)
  for (const n of readdirSync(f.folder)) if (!n.endsWith('.json') || n === 'meta.json') copyFileSync(join(f.folder, n), join(logOnly, n))
  const l = await runCli(['top', logOnly, '--verbose', '--json', '-n', '1'], { timeoutMs: 120_000 })
  assert.equal(l.code, 0, l.stderr)
  assert.match(l.stderr, /isolate-[^ ]*-v8\.log: detected v8-prof/)
  assert.equal(JSON.parse(l.stdout).rows[0].name, 'hot')

  // Every command reads the folder: analyze, flamegraph, diff of two runs.
  const a = await runCli(['analyze', f.folder], { timeoutMs: 120_000 })
  assert.equal(a.code, 0, a.stderr)
  const d = await runCli(['diff', f.folder, logOnly, '--json'], { timeoutMs: 120_000 })
  assert.equal(d.code, 0, d.stderr)
  const fg = await runCli(['flamegraph', f.folder, '-o', join(dir, 'zerox.html')], { timeoutMs: 120_000 })
  assert.equal(fg.code, 0, fg.stderr)
  assert.match(readFileSync(join(dir, 'zerox.html'), 'utf8'), /work\.js/)
})

test('bad V8 inputs: truncated log, truncated JSON, folder without either file: one line, exit 4', async () => {
  const f = await fixtures()
  const text = readFileSync(f.log, 'utf8')
  const cut = join(dir, 'cut-v8.log')
  writeFileSync(cut, text.slice(0, Math.floor(text.length / 3)))
  const r = await runCli(['top', cut], { timeoutMs: 120_000 })
  assert.equal(r.code, 4, r.stderr)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /truncated or corrupt/)

  const jsonName = readdirSync(f.folder).find((n) => n.endsWith('.log.json'))!
  const cutJson = join(dir, 'cut-v8.log.json')
  const jtext = readFileSync(join(f.folder, jsonName), 'utf8')
  writeFileSync(cutJson, jtext.slice(0, Math.floor(jtext.length / 2)))
  const j = await runCli(['top', cutJson])
  assert.equal(j.code, 4, j.stderr)
  assert.ok(isCleanFailure(j), j.stderr)

  const empty = join(dir, '999.0x')
  mkdirSync(empty)
  copyFileSync(join(f.folder, 'meta.json'), join(empty, 'meta.json'))
  for (const cmd of ['top', 'analyze', 'diff']) {
    const e = await runCli(cmd === 'diff' ? [cmd, empty, f.folder] : [cmd, empty])
    assert.equal(e.code, 4, `${cmd}: ${e.stderr}`)
    assert.ok(isCleanFailure(e), e.stderr)
    assert.match(e.stderr, /0x folder holds neither/)
  }

  const slow = await runCli(['top', f.log], { env: { MESHPROF_PROF_PROCESS_TIMEOUT_MS: '1' } })
  assert.equal(slow.code, 4, slow.stderr)
  assert.ok(isCleanFailure(slow), slow.stderr)
  assert.match(slow.stderr, /did not finish within 1 ms/)
})

test('corpus: the node 8.5 --prof log imports through this node, with its version difference said', { skip: CORPUS_SKIP }, async () => {
  const log = join(CORPUS, 'other', 'speedscope-node8.5.0-isolate-0x102802600-v8.log')
  const warnings: string[] = []
  const { format, profiles } = await loadProfiles(log, { warn: (m) => warnings.push(m) })
  assert.equal(format, 'v8-prof')
  const p = profiles[0]!
  assert.deepEqual(validateProfile(p), [])
  // Every tick line is a sample: 93 in the file (grep -c '^tick,').
  assert.equal(totalWeight(p), tickLines(log))
  assert.equal(p.meta.extra?.v8Version, '6.0.287.53')
  assert.ok(warnings.some((w) => /V8 6\.0\.287\.53/.test(w)), warnings.join('\n'))
  // Old logs quote names; the frames do not keep the quotes, and JS frames carry file and line.
  assert.ok(!p.frames.some((fr) => fr.name.startsWith('"')))
  const js = p.frames.filter((fr) => fr.kind === 'js' && fr.file?.endsWith('/simple.js'))
  assert.ok(js.length >= 3, js.map((fr) => fr.name).join(', '))
  assert.ok(js.every((fr) => fr.line! > 0))
})

test('code entries become frames: JS with file/line/column, getters, anonymous, old quoted names, C++, libraries, V8 code', async () => {
  const { frameOfCode } = await import('../../src/formats/v8-prof.js')
  assert.deepEqual(frameOfCode({ name: 'hot /app/w.js:1:13', type: 'JS', kind: 'Opt' }), { name: 'hot', kind: 'js', file: '/app/w.js', module: '/app/w.js', line: 1, col: 13 })
  assert.deepEqual(frameOfCode({ name: 'get size /app/node_modules/lru/index.js:40:7', type: 'JS' }), { name: 'get size', kind: 'js', file: '/app/node_modules/lru/index.js', module: 'lru', line: 40, col: 7 })
  assert.deepEqual(frameOfCode({ name: ' node:internal/main/run_main_module:1:1', type: 'JS' }), { name: '(anonymous)', kind: 'js', file: 'node:internal/main/run_main_module', module: 'node:internal/main/run_main_module', line: 1, col: 1 })
  assert.deepEqual(frameOfCode({ name: '"d /Users/x/simple.js:20:11"', type: 'JS', kind: 'Builtin' }), { name: 'd', kind: 'js', file: '/Users/x/simple.js', module: '/Users/x/simple.js', line: 20, col: 11 })
  assert.deepEqual(frameOfCode({ name: '""', type: 'JS' }), { name: '(anonymous)', kind: 'native' })
  assert.deepEqual(frameOfCode({ name: '_IO_fwrite@@GLIBC_2.2.5', type: 'CPP' }), { name: '_IO_fwrite', kind: 'native' })
  assert.deepEqual(frameOfCode({ name: 'v8::internal::Heap::Scavenge()', type: 'CPP' }), { name: 'v8::internal::Heap::Scavenge()', kind: 'native' })
  assert.deepEqual(frameOfCode({ name: '/usr/lib/x86_64-linux-gnu/libc.so.6', type: 'SHARED_LIB' }), { name: '[libc.so.6]', kind: 'native', module: '/usr/lib/x86_64-linux-gnu/libc.so.6' })
  assert.deepEqual(frameOfCode({ name: 'ArrayPrototypePush', type: 'CODE', kind: 'Builtin' }), { name: 'ArrayPrototypePush', kind: 'native', module: 'v8' })
  assert.deepEqual(frameOfCode({ name: 'LdaZero', type: 'CODE', kind: 'BytecodeHandler' }), { name: 'BytecodeHandler: LdaZero', kind: 'native', module: 'v8' })
})

test('ticks: unresolved addresses dropped (time stays with the caller), GC a leaf, no frame at all is (program)', async () => {
  const { profileFromTicks } = await import('../../src/formats/v8-prof.js')
  const code = [{ name: 'main /a.js:1:1', type: 'JS' }, { name: 'work /a.js:5:1', type: 'JS' }]
  const ticks = [
    { tm: 1000, vm: 0, s: [-1, 0x1234, 1, 10, 0, 20] }, // pc in unknown native code, called from work <- main
    { tm: 2000, vm: 1, s: [1, 4, 0, 20] }, // GC while in work
    { tm: 3000, vm: 6, s: [-1, 0x99] }, // nothing resolvable
  ]
  const p = profileFromTicks({ code, ticks }, { name: 'x.json' })
  assert.deepEqual(validateProfile(p), [])
  const rows = [...p.sampleStack].map((s) => {
    const names: string[] = []
    for (let x = s; x >= 0; x = p.stackParent[x]!) names.unshift(p.frames[p.stackFrame[x]!]!.name)
    return names.join(';')
  })
  assert.deepEqual(rows, ['main;work', 'main;work;(garbage collector)', '(program)'])
  assert.deepEqual([...p.times!], [0, 1e6, 2e6])
  assert.equal(p.meta.periodNs, 1e6)
  assert.equal(p.meta.extra?.unresolvedFramesDropped, 2)
  assert.throws(() => profileFromTicks({ code, ticks: [{ tm: 1, vm: 0, s: [7, 0] }] }, { name: 'bad.json' }), /code entry 7, which does not exist/)
})
