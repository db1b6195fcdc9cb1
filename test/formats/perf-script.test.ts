// perf script: byte-for-byte conformance with stackcollapse-perf.pl over the corpus (in-process and
// through the real CLI), the threaded reader, streaming inputs, the model importer, detection,
// and bad input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { execFileSync } from 'node:child_process'
import { CORPUS, CORPUS_SKIP, HAS_CORPUS, corpusManifest, isCleanFailure, runCli, type ManifestEntry } from '../helpers/cli.js'
import { fromBuffer, openInput } from '../../src/formats/source.js'
import { parsePerfScript, perfScriptImporter } from '../../src/formats/perf-script.js'
import { foldPerfScript } from '../../src/formats/perf-fold.js'
import { sniffPerfScript } from '../../src/formats/detect.js'
import { EVENT_RE, LineMatch, PERIOD_RE, matchEvent, matchPeriod } from '../../src/formats/perf-core.js'
import { toFolded } from '../../src/formats/folded.js'
import { detectFormat } from '../../src/formats/index.js'
import { validateProfile, stackFrames } from '../../src/model/builder.js'
import type { PerfOptions } from '../../src/formats/types.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-perf-'))
const manifest: ManifestEntry[] = HAS_CORPUS ? (await corpusManifest()).filter((e) => e.format === 'perf-script') : []
const corpusFile = (rel: string) => join(CORPUS, rel)

/** Option set and CLI flags for each expected-output kind that stackcollapse-perf.pl made. */
const KINDS: Record<string, { opts: PerfOptions; args: string[] }> = {
  folded: { opts: {}, args: [] },
  folded_pid: { opts: { pid: true }, args: ['--pid'] },
  folded_tid: { opts: { tid: true }, args: ['--tid'] },
  folded_kernel: { opts: { kernel: true }, args: ['--kernel'] },
  folded_jit: { opts: { jit: true }, args: ['--jit'] },
  folded_all: { opts: { all: true }, args: ['--all'] },
  folded_addrs: { opts: { addrs: true }, args: ['--addrs'] },
  folded_event_filter_cycles: { opts: { eventFilter: 'cycles' }, args: ['--event-filter', 'cycles'] },
}

interface Case {
  file: string
  kind: string
  expected: string
  opts: PerfOptions
  args: string[]
}

/**
 * Every comparison the corpus allows. The plain script drops an unterminated last sample, so its
 * outputs are matched with dropUnterminatedLast; `folded_eof_flushed` (the script on the input plus
 * "\n\n") is meshprof's default. Where the input ends with a blank line both agree, so those
 * outputs are also checked with the default.
 */
function cases(): Case[] {
  const out: Case[] = []
  for (const e of manifest) {
    const flushed = e.expected.folded_eof_flushed
    if (flushed) out.push({ file: e.file, kind: 'folded_eof_flushed (default)', expected: flushed, opts: {}, args: [] })
    for (const [kind, path] of Object.entries(e.expected)) {
      const k = KINDS[kind]
      if (!k) continue
      out.push({ file: e.file, kind: `${kind} --drop-last`, expected: path, opts: { ...k.opts, dropUnterminatedLast: true }, args: [...k.args, '--drop-last'] })
      if (!flushed) out.push({ file: e.file, kind: `${kind} (default)`, expected: path, opts: k.opts, args: k.args })
    }
  }
  return out
}

test('corpus: every perf-script input and option set folds byte-for-byte like stackcollapse-perf.pl (in-process)', { skip: CORPUS_SKIP }, async () => {
  const all = cases()
  assert.ok(all.length >= 200, `expected the full option matrix, got ${all.length}`)
  const failures: string[] = []
  let threaded = 0
  for (const c of all) {
    const input = await openInput(corpusFile(c.file))
    const want = readFileSync(corpusFile(c.expected))
    const r = await foldPerfScript(input, c.opts, { tuning: { threads: 1 } })
    if (!r.output.equals(want)) failures.push(`${c.file} ${c.kind}`)
    // The threaded reader (split at sample boundaries even for small files) on a share of them.
    if (/^folded(_eof_flushed|_all|_tid)? /.test(c.kind)) {
      const t = await foldPerfScript(input, c.opts, { tuning: { threads: 2, splitMin: 0 } })
      if (!t.output.equals(want)) failures.push(`${c.file} ${c.kind} threads=2`)
      if (t.stats.chunks > 1) threaded++
    }
  }
  assert.deepEqual(failures, [])
  assert.ok(threaded >= 30, `only ${threaded} runs were split`)
})

test('corpus through the CLI: meshprof fold matches for every input, and every option on two inputs', { skip: CORPUS_SKIP }, async () => {
  const rich = new Set(['perf-script/flamegraph-perf-java-stacks-02.txt', 'perf-script/flamegraph-perf-dd-stacks-01.txt'])
  // Every input with the default, every --drop-last of an input that does not end with a blank
  // line, and all options on two inputs. (The zero-byte input is left to the in-process test:
  // without --format the CLI rightly calls it empty.)
  const chosen = cases().filter((c) => !c.file.endsWith('inferno-no-events.txt') && (
    c.kind === 'folded (default)' || c.kind.startsWith('folded_eof_flushed') ||
    (c.kind === 'folded --drop-last' && manifest.find((e) => e.file === c.file)?.expected.folded_eof_flushed !== undefined) ||
    (rich.has(c.file) && (c.kind.endsWith('(default)') || manifest.find((e) => e.file === c.file)?.expected.folded_eof_flushed !== undefined))))
  assert.ok(chosen.length >= 35, String(chosen.length))
  const failures: string[] = []
  for (let i = 0; i < chosen.length; i += 4) {
    await Promise.all(chosen.slice(i, i + 4).map(async (c) => {
      const r = await runCli(['fold', ...c.args, corpusFile(c.file)])
      if (r.code !== 0) failures.push(`${c.file} ${c.kind}: exit ${r.code} ${r.stderr}`)
      else if (!r.stdoutBuf.equals(readFileSync(corpusFile(c.expected)))) failures.push(`${c.file} ${c.kind}: output differs`)
    }))
  }
  assert.deepEqual(failures, [])
})

test('several event types: the first one is kept and a note names the dropped one (CLI)', { skip: CORPUS_SKIP }, async () => {
  const r = await runCli(['fold', corpusFile('perf-script/flamegraph-perf-cycles-instructions-01.txt')])
  assert.equal(r.code, 0)
  assert.match(r.stderr, /kept only 'instructions'.*dropped 'cycles'.*--event-filter/)
})

test('stdin and gzip inputs stream through the same folder', { skip: CORPUS_SKIP }, async () => {
  const src = corpusFile('perf-script/local-perf-gzip-F499.txt')
  const want = readFileSync(corpusFile('perf-script/expected/local-perf-gzip-F499.txt.folded'))
  const gz = join(dir, 'gz.perf.gz')
  writeFileSync(gz, gzipSync(readFileSync(src)))
  const [a, b] = await Promise.all([runCli(['fold', '-'], { input: readFileSync(src) }), runCli(['fold', gz])])
  assert.equal(a.code, 0, a.stderr)
  assert.ok(a.stdoutBuf.equals(want), 'stdin')
  assert.equal(b.code, 0, b.stderr)
  assert.ok(b.stdoutBuf.equals(want), 'gzip')
})

/** A few MB of real perf text: corpus samples repeated with varying pids, so stacks repeat. */
function bigPerfFile(name: string, copies: number): string {
  const base = readFileSync(corpusFile('perf-script/local-perf-perl-stackcollapse-F499.txt'), 'latin1')
  const parts: string[] = []
  for (let i = 0; i < copies; i++) parts.push(base.replace(/^(\S+) (\d+) /gm, (_m, c: string, p: string) => `${c} ${Number(p) + (i % 5)} `))
  const path = join(dir, name)
  writeFileSync(path, parts.join(''), 'latin1')
  return path
}

test('threads: a file split at sample boundaries folds exactly like one thread (CLI, --pid)', { skip: CORPUS_SKIP }, async () => {
  const path = bigPerfFile('big.txt', 8)
  const [one, two] = await Promise.all([
    runCli(['fold', '--pid', path], { env: { MESHPROF_PERF_THREADS: '1' } }),
    runCli(['fold', '--pid', path], { env: { MESHPROF_PERF_THREADS: '2', MESHPROF_PERF_SPLIT_MIN: '0' } }),
  ])
  assert.equal(one.code, 0, one.stderr)
  assert.equal(two.code, 0, two.stderr)
  assert.ok(one.stdout.length > 1000)
  assert.ok(one.stdoutBuf.equals(two.stdoutBuf))
  // Three threads taking ~300 KB chunks from the shared queue.
  const r = await foldPerfScript(await openInput(path), { pid: true }, { tuning: { threads: 3, splitMin: 0, chunkSize: 300000 } })
  assert.ok(r.stats.chunks >= 10, String(r.stats.chunks))
  assert.ok(r.output.equals(one.stdoutBuf))
})

test('threads: when the pre-scan does not find the first event, workers wait for the main thread to see it', async () => {
  // 5 MB of comments hide the first event from the pre-scan. The file's first event is
  // 'instructions'; the second chunk starts (after the first blank line past the middle) with
  // 'cycles', so a worker that guessed from its own chunk would keep the wrong type.
  const sample = (ev: string, fn: string) => `app 1 [000] 1.000001: 100 ${ev}:\n\tffff ${fn} (/bin/app)\n\n`
  const comments = '# padding padding padding padding padding padding padding padding\n'.repeat(80000)
  const half = (ev1: string, ev2: string, n: number) => Array.from({ length: n }, (_v, i) => sample(i % 3 ? ev1 : ev2, `f${i % 7}`)).join('')
  const text = comments + half('cycles', 'instructions', 3000) + half('instructions', 'cycles', 60000)
  const path = join(dir, 'events.txt')
  writeFileSync(path, text)
  const input = await openInput(path)
  const one = await foldPerfScript(input, {}, { tuning: { threads: 1 } })
  const two = await foldPerfScript(input, {}, { tuning: { threads: 2, splitMin: 0 } })
  assert.equal(two.stats.chunks, 2)
  assert.equal(two.stats.threads, 2)
  assert.equal(two.stats.redone, 0)
  assert.ok(one.output.equals(two.output))
  assert.equal(two.stats.keptEvent, 'instructions')
  assert.equal(two.stats.droppedEvent, 'cycles')
  assert.match(one.output.toString(), /^app;f0 /m)
})

test('byte matchers agree with the regular expressions (perl semantics) on random event lines', () => {
  let seed = 99
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const pieces = ['java', ' ', '  ', '\t', '123', '0', '/', '//', '9/9', ':', ': ', '1.5:', 'cycles:', 'cpu-clock:ppp:', '[001]', 'x', '\r', 'V8 W', '00', 'a:b']
  const m = new LineMatch()
  for (let i = 0; i < 20000; i++) {
    let s = ''
    const n = 1 + Math.floor(rnd() * 9)
    for (let j = 0; j < n; j++) s += pieces[Math.floor(rnd() * pieces.length)]
    const b = Buffer.from(s, 'latin1')
    const re = EVENT_RE.exec(s)
    const ok = matchEvent(b, 0, b.length, m)
    assert.equal(ok, re !== null, JSON.stringify(s))
    if (re) {
      assert.equal(s.slice(0, m.commEnd), re[1], JSON.stringify(s))
      assert.equal(s.slice(m.pidS, m.pidE), re[2])
      assert.equal(m.tidS < 0 ? undefined : s.slice(m.tidS, m.tidE), re[3], JSON.stringify(s))
    }
    const rp = PERIOD_RE.exec(s)
    const okp = matchPeriod(b, 0, b.length, m)
    assert.equal(okp, rp !== null, JSON.stringify(s))
    if (rp) {
      assert.equal(m.perS < 0 ? undefined : s.slice(m.perS, m.perE), rp[1], JSON.stringify(s))
      assert.equal(s.slice(m.evS, m.evE), rp[2], JSON.stringify(s))
    }
  }
})

// ---- differential test against the real script (only where FLAMEGRAPH_DIR is set) -------------

const FG = process.env.FLAMEGRAPH_DIR
const PERL_SKIP = FG && existsSync(join(FG, 'stackcollapse-perf.pl')) ? false : 'FLAMEGRAPH_DIR not set (a checkout of brendangregg/FlameGraph); skipping the differential test against perl'

test('random odd perf files fold exactly like perl stackcollapse-perf.pl (differential)', { skip: PERL_SKIP }, async () => {
  let seed = 4242
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!
  const ws = () => pick([' ', '  ', '\t', ' \t '])
  const syms = ['main', 'foo+0x1f', '[unknown]', 'a->b->c', '->x', 'f(int, char)', '(anonymous namespace)::f(int)', 'net/http.(*Client).Do', 'Lorg/x/Y;.call(Ljava/lang/Object;)V', 'q\'u"o', 'a;b', '_Z5gammav', '(deleted)', 'sp ace', '+0x12', 'f\xff\xfe']
  const mods = ['[kernel.kallsyms]', '/lib/modules/4.3/build/vmlinux', '/tmp/perf-123.map', '[unknown]', '/usr/lib/libc.so.6', '', 'a(b)c']
  const file = (): Buffer => {
    const out: string[] = []
    for (let i = 0, n = 1 + Math.floor(rnd() * 20); i < n; i++) {
      out.push(pick(['java', 'perl', 'V8 WorkerThread', 'Web Content 2', 'x;y']) + ws() + pick(['123', '0', '9/9', '0/0', '5/6']) + ws() + pick(['', '[001] ']) + '1234.5678:' + ws() + pick(['', '1', '0', '00', '10101010', '123456789012345678901']) + ws() + pick(['cycles:', 'instructions:', 'cpu-clock:ppp:', 'cycles']) + pick(['', ' ', '\r']))
      for (let j = 0, d = Math.floor(rnd() * 7); j < d; j++) {
        const ind = pick(['\t', '        ', ''])
        const r = rnd()
        out.push(r < 0.05 ? ind + 'WEIRD' : r < 0.1 ? ind + '4bb8  (' + pick(mods) + ')' : ind + pick(['ffff8103', '4bb8', '0']) + ' ' + pick(syms) + ' (' + pick(mods) + ')' + pick(['', '', '\r']))
      }
      if (rnd() < 0.85) out.push('')
    }
    return Buffer.from(out.join('\n') + pick(['', '\n']), 'latin1')
  }
  const variants: [string[], PerfOptions][] = [[[], {}], [['--pid'], { pid: true }], [['--tid'], { tid: true }], [['--all'], { all: true }], [['--addrs'], { addrs: true }], [['--event-filter=cycles'], { eventFilter: 'cycles' }]]
  const script = join(FG!, 'stackcollapse-perf.pl')
  for (let it = 0; it < 60; it++) {
    const data = file()
    const [args, o] = pick(variants)
    const p1 = join(dir, 'fz.txt')
    writeFileSync(p1, data)
    const perl = execFileSync('perl', [script, ...args, p1], { stdio: ['ignore', 'pipe', 'ignore'] })
    const perlFlushed = execFileSync('perl', [script, ...args], { input: Buffer.concat([data, Buffer.from('\n\n')]), stdio: ['pipe', 'pipe', 'ignore'] })
    assert.ok((await foldPerfScript(fromBuffer('x', data), { ...o, dropUnterminatedLast: true })).output.equals(perl), `case ${it} ${args} drop-last`)
    assert.ok((await foldPerfScript(fromBuffer('x', data), o)).output.equals(perlFlushed), `case ${it} ${args} default`)
  }
})

// ---- model importer -----------------------------------------------------------------------------

test('importer: frames carry kind and module, samples carry times, values keep samples and cpu ns', { skip: CORPUS_SKIP }, async () => {
  const input = await openInput(corpusFile('perf-script/local-perf-gzip-F499.txt'))
  const p = (await perfScriptImporter.parse(input, {}))[0]!
  assert.deepEqual(validateProfile(p), [])
  assert.deepEqual(p.valueTypes, [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }])
  assert.equal(p.defaultValue, 1)
  assert.equal(p.meta.name, 'gzip')
  assert.equal(p.meta.pid, 16383)
  assert.equal(p.meta.periodNs, 2004008)
  assert.equal(p.meta.sourceFormat ?? 'perf-script', 'perf-script')
  assert.ok(p.times && p.times.length === p.sampleStack.length)
  assert.equal(p.times![0], 0)
  for (let i = 1; i < p.times!.length; i++) assert.ok(p.times![i]! >= p.times![i - 1]!)
  assert.equal(p.meta.durationNs, p.times![p.times!.length - 1])
  const stamps = [...readFileSync(corpusFile('perf-script/local-perf-gzip-F499.txt'), 'latin1').matchAll(/ (\d+)\.(\d{6}):/g)].map((m) => Number(m[1]) * 1e9 + Number(m[2]) * 1e3)
  assert.equal(p.meta.durationNs, stamps[stamps.length - 1]! - stamps[0]!)
  const samples = p.values[0]!.reduce((a, b) => a + b, 0)
  const cpu = p.values[1]!.reduce((a, b) => a + b, 0)
  assert.equal(cpu, samples * 2004008)
  const want = readFileSync(corpusFile('perf-script/expected/local-perf-gzip-F499.txt.folded'), 'utf8')
  const total = want.trim().split('\n').reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)
  assert.equal(cpu, total)
  const byName = new Map(p.frames.map((f) => [f.name, f]))
  assert.equal(byName.get('exc_page_fault')?.kind, 'kernel')
  assert.equal(byName.get('exc_page_fault')?.module, 'kernel.kallsyms')
  assert.equal(byName.get('[gzip]')?.kind, 'native')
  assert.equal(byName.get('[gzip]')?.module, 'gzip')
  assert.equal(byName.get('gzip')?.kind, 'program')
  // Stacks are root (process) first.
  const deepest = Math.max(...Array.from(p.sampleStack, (s) => stackFrames(p, s).length))
  assert.ok(deepest > 5)
  assert.equal(p.frames[stackFrames(p, p.sampleStack[0]!)[0]!]!.name, 'gzip')
})

test('importer: folding the model gives the same text as the folder (all corpus inputs, demangling off)', { skip: CORPUS_SKIP }, async () => {
  for (const e of manifest) {
    const input = await openInput(corpusFile(e.file))
    for (const o of [{}, { all: true, tid: true }] as PerfOptions[]) {
      const folded = (await foldPerfScript(input, o)).output.toString('utf8')
      const p = await parsePerfScript(input, { perf: { ...o, demangle: false } })
      assert.equal(p ? toFolded(p) : '', folded, `${e.file} ${JSON.stringify(o)}`)
      if (p) assert.deepEqual(validateProfile(p), [])
    }
  }
})

test('importer: JIT frames are js, C++ and Rust names are demangled, java L prefix stripped', { skip: CORPUS_SKIP }, async () => {
  const java = await parsePerfScript(await openInput(corpusFile('perf-script/flamegraph-perf-java-faults-01.txt')))
  const jit = java!.frames.filter((f) => f.kind === 'js')
  assert.ok(jit.length > 3)
  assert.ok(jit.some((f) => f.name === 'java/util/zip/Inflater:::inflateBytes'), jit.map((f) => f.name).join('\n'))
  assert.equal(java!.meta.extra?.event, 'page-faults')
  const cpp = await parsePerfScript(await openInput(corpusFile('perf-script/speedscope-forks.linux-perf.txt')))
  const names = new Set(cpp!.frames.map((f) => f.name))
  assert.ok(names.has('gamma') && names.has('beta') && !names.has('_Z5gammav'), [...names].join(','))
  const plain = await parsePerfScript(await openInput(corpusFile('perf-script/speedscope-forks.linux-perf.txt')), { perf: { demangle: false } })
  assert.ok(plain!.frames.some((f) => f.name === '_Z5gammav'))
  const rust = await parsePerfScript(await openInput(corpusFile('perf-script/flamegraph-perf-rust-Yamakaky-dcpu.txt')))
  assert.ok(!rust!.frames.some((f) => /::h[0-9a-f]{16}$/.test(f.name)))
  assert.ok(rust!.frames.some((f) => f.name === 'emulator::main'), 'hash stripped')
  const r = await runCli(['top', corpusFile('perf-script/speedscope-forks.linux-perf.txt'), '--limit', '5'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /gamma/)
})

// ---- detection ----------------------------------------------------------------------------------

test('sniff: every non-empty perf corpus file is perf-script; folded and JSON files are not', { skip: CORPUS_SKIP }, async () => {
  const all = await corpusManifest()
  for (const e of all) {
    const input = await openInput(corpusFile(e.file))
    if (input.head.length === 0) continue
    const yes = sniffPerfScript(input.head, input.head.toString('utf8'))
    if (e.format === 'perf-script') {
      assert.equal(yes, true, e.file)
      assert.equal(detectFormat(input).id, 'perf-script', e.file)
    } else if (['folded', 'cpuprofile', 'speedscope', 'chrome-trace', 'pprof', 'trace-event'].includes(e.format)) {
      assert.equal(yes, false, e.file)
    }
  }
  assert.equal(sniffPerfScript(Buffer.from('a;b;c 12\na;b 3\n'), 'a;b;c 12\na;b 3\n'), false)
  assert.equal(sniffPerfScript(Buffer.from('{"nodes": []}'), '{"nodes": []}'), false)
  assert.equal(sniffPerfScript(Buffer.alloc(0), ''), false)
})

// ---- bad input ----------------------------------------------------------------------------------

test('bad input: empty file, garbage, whitespace only: clean errors or empty output, never a crash', async () => {
  const empty = join(dir, 'empty.txt')
  writeFileSync(empty, '')
  const garbage = join(dir, 'garbage.bin')
  let seed = 7
  writeFileSync(garbage, Buffer.from(Array.from({ length: 200000 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) & 255)))
  const blanks = join(dir, 'blanks.txt')
  writeFileSync(blanks, '\n\n   \n\t\n')
  const [a, b, c, d, e, f] = await Promise.all([
    runCli(['fold', empty]),
    runCli(['fold', '--format', 'perf-script', empty]),
    runCli(['fold', garbage]),
    runCli(['fold', '--format', 'perf-script', garbage]),
    runCli(['top', '--format', 'perf-script', garbage]),
    runCli(['top', '--format', 'perf-script', blanks]),
  ])
  assert.equal(a.code, 4)
  assert.ok(isCleanFailure(a), a.stderr)
  assert.equal(b.code, 0, b.stderr)
  assert.equal(b.stdout, '')
  assert.equal(c.code, 4)
  assert.ok(isCleanFailure(c), c.stderr)
  assert.equal(d.code, 0, d.stderr)
  assert.ok(!/\n\s+at /.test(d.stderr), d.stderr)
  for (const r of [e, f]) {
    assert.equal(r.code, 4, r.stderr)
    assert.ok(isCleanFailure(r), r.stderr)
    assert.match(r.stderr, /no samples/)
  }
})

test('bad input: a weird stack line is skipped with a note (CLI)', { skip: CORPUS_SKIP }, async () => {
  const r = await runCli(['fold', corpusFile('perf-script/inferno-weird-stack-line.txt')])
  assert.equal(r.code, 0)
  assert.ok(r.stdoutBuf.equals(readFileSync(corpusFile('perf-script/expected/inferno-weird-stack-line.txt.eof-flushed.folded'))))
  assert.match(r.stderr, /1 line\(s\) not recognized.*THIS_IS_A_WEIRD_LINE/)
  assert.ok(!/\n\s+at /.test(r.stderr))
})

test('bad input: a 50,000-frame-deep stack folds and imports without recursion', async () => {
  const lines = ['deep 1 [000] 1.000000: 1000 cpu-clock:']
  for (let i = 50000; i > 0; i--) lines.push(`\t${(0x1000 + i).toString(16)} fn${i}+0x1 (/bin/deep)`)
  lines.push('', 'deep 1 [000] 1.001000: 1000 cpu-clock:', '\t1000 leaf (/bin/deep)', '')
  const path = join(dir, 'deep.txt')
  writeFileSync(path, lines.join('\n'))
  const [fold, top] = await Promise.all([runCli(['fold', path]), runCli(['top', path, '--limit', '3'])])
  assert.equal(fold.code, 0, fold.stderr)
  const out = fold.stdout.trim().split('\n')
  assert.equal(out.length, 2)
  const deep = out.find((l) => l.startsWith('deep;fn1;'))!
  assert.equal(deep.split(';').length, 50001)
  assert.ok(deep.endsWith(';fn50000 1000'))
  assert.equal(top.code, 0, top.stderr)
  const p = await parsePerfScript(await openInput(path))
  assert.deepEqual(validateProfile(p!), [])
  assert.equal(Math.max(...Array.from(p!.sampleStack, (s) => stackFrames(p!, s).length)), 50001)
})

test('bad input: invalid UTF-8 passes through byte-for-byte (like perl) and imports without a crash', async () => {
  const bytes = Buffer.concat([
    Buffer.from('caf\xe9 7 [000] 1.000000: 5 cpu-clock:\n\t10 f\xff\xfe\xc3( (/lib/x\xe9.so)\n\t20 [unknown] (/lib/\xc0\xafz.so)\n\n', 'latin1'),
  ])
  const path = join(dir, 'bad-utf8.txt')
  writeFileSync(path, bytes)
  const r = await runCli(['fold', path])
  assert.equal(r.code, 0, r.stderr)
  assert.ok(r.stdoutBuf.equals(Buffer.from('caf\xe9;[\xc0\xafz.so];f\xff\xfe\xc3 5\n', 'latin1')), JSON.stringify(r.stdoutBuf.toString('latin1')))
  const t = await runCli(['top', path])
  assert.equal(t.code, 0, t.stderr)
  const p = await parsePerfScript(await openInput(path))
  assert.equal(p!.frames.length, 3)
})

test('counts add up like perl numbers: exact to 2^64, then %.15g doubles; a period of 00 adds 0', async () => {
  const text = ['9007199254740993 cycles:\n\t1 f (/x)', '9007199254740993 cycles:\n\t1 f (/x)', '18446744073709551615 cycles:\n\t1 g (/x)', '1 cycles:\n\t1 g (/x)', '123456789012345678901234 cycles:\n\t1 h (/x)', '00 cycles:\n\t1 i (/x)']
    .map((t, i) => `app 1 [000] 1.${i}: ${t}\n\n`).join('')
  const r = await foldPerfScript(fromBuffer('big', Buffer.from(text)), {})
  // What perl 5.36 prints for this input.
  assert.equal(r.output.toString(), 'app;f 18014398509481986\napp;g 1.84467440737096e+19\napp;h 1.23456789012346e+23\napp;i 0\n')
})

test('line caches: one address with other symbols, one line under java and not, other address widths fold like perl', async () => {
  // The folder picks a cached line by its address and then checks the rest byte for byte; these
  // are the cases where the address alone would give the wrong frame.
  const sample = (comm: string, pid: number, frames: string[]) => `${comm} ${pid} 1.0: 1 cycles:\n${frames.map((f) => `\t${f}\n`).join('')}\n`
  const text = [
    sample('java', 1, ['4bb8 Lorg/x/Y;.call (/tmp/perf-1.map)', '10 main (/usr/bin/x)']),
    sample('perl', 2, ['4bb8 Lorg/x/Y;.call (/tmp/perf-1.map)', '10 main (/usr/bin/x)']),
    sample('perl', 3, ['4bb8 other+0x1 (/usr/bin/x)', '10 main (/usr/bin/x)']),
    sample('perl', 3, ['4bb8 other+0x2 (/usr/bin/x)', '10 main (/usr/bin/x)']),
    sample('perl', 6, ['4bb8 gamma+0x2 (/usr/bin/x)', '10 main (/usr/bin/x)']),
    sample('perl', 3, ['4bb8 other+0x2 (/usr/bin/y)', '10 main (/usr/bin/x)']),
    sample('perl', 4, ['4bb8  other (/usr/bin/x)', '4bb80 main (/usr/bin/x)']),
    sample('java', 5, ['4bb8 Lorg/x/Y;.call (/tmp/perf-1.map)', '10 main (/usr/bin/x)']),
  ].join('')
  for (const threads of [1, 2]) {
    const p = join(dir, 'line-cache.txt')
    writeFileSync(p, text.repeat(threads === 1 ? 1 : 2000))
    const r = await foldPerfScript(await openInput(p), {}, { tuning: { threads, splitMin: 0, chunkSize: 4096 } })
    const n = threads === 1 ? 1 : 2000
    // What stackcollapse-perf.pl prints: the java process drops the L prefix, the others keep it.
    assert.equal(r.output.toString(), `java;main;org/x/Y:.call ${2 * n}\nperl;main;Lorg/x/Y:.call ${n}\nperl;main;gamma ${n}\nperl;main;other ${4 * n}\n`, `threads ${threads}`)
    assert.equal(r.stats.uniqueStacks, 4)
  }
})

test('output order: parts that are prefixes of each other sort by the bytes of the whole line; lines that print the same are one (1-3 threads)', async () => {
  // The folder sorts id sequences, not strings: "foo" < "foo.cold" as names, yet "foo;leaf" >
  // "foo.cold" as lines ('.' < ';' < 'z'); an inline "f->g" and the lines "f" + "g_[i]" print the
  // same, as do the process "pp;main" with frame foo and the process "pp" with main, foo.
  const sample = (comm: string, frames: string[], n: number) => `${comm} 1 1.0: ${n} cycles:\n${frames.map((f) => `\t10 ${f} (/x)\n`).join('')}\n`
  const text = [
    sample('pp', ['leaf', 'foo', 'main'], 1),
    sample('pp', ['foo.cold', 'main'], 2),
    sample('pp', ['foo', 'main'], 3),
    sample('pp', ['a', 'foo!x', 'main'], 4),
    sample('pp', ['fooz', 'main'], 5),
    sample('pp', ['f->g', 'main'], 6),
    sample('pp', ['g_[i]', 'f', 'main'], 7),
    sample('pp.x', ['main'], 8),
    sample('pp;main', ['foo'], 9),
    sample('pp', [], 10),
    sample('pp', ['main'], 11),
  ].join('')
  // What stackcollapse-perf.pl prints for `text` (perl 5.36).
  const perl = [['pp', 10], ['pp.x;main', 8], ['pp;main', 11], ['pp;main;f;g_[i]', 13], ['pp;main;foo', 12], ['pp;main;foo!x;a', 4], ['pp;main;foo.cold', 2], ['pp;main;foo;leaf', 1], ['pp;main;fooz', 5]] as const
  const p = join(dir, 'order.txt')
  for (const [threads, repeat] of [[1, 1], [2, 500], [3, 500]] as const) {
    writeFileSync(p, text.repeat(repeat))
    const r = await foldPerfScript(await openInput(p), {}, { tuning: { threads, splitMin: 0, chunkSize: 2048 } })
    assert.equal(r.stats.threads, threads)
    assert.equal(r.output.toString(), perl.map(([k, n]) => `${k} ${n * repeat}\n`).join(''), `threads ${threads}`)
  }
  // Many names that are prefixes of each other, in random stacks: every line's key is strictly
  // greater (bytes) than the one before, and threads change nothing.
  let seed = 99
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const names = ['a', 'a.b', 'a!', 'a;b', 'ab', 'a->b', 'a_[i]', 'b', 'b->a', '', '~', 'a\xff']
  const many: string[] = []
  for (let i = 0; i < 3000; i++) {
    const frames = Array.from({ length: Math.floor(rnd() * 5) }, () => names[Math.floor(rnd() * names.length)]!).filter((f) => f !== '')
    many.push(sample(['pp', 'pp.x', 'pp;a', 'ppa'][Math.floor(rnd() * 4)]!, frames, 1 + Math.floor(rnd() * 3)))
  }
  writeFileSync(p, Buffer.from(many.join(''), 'latin1'))
  const one = await foldPerfScript(await openInput(p), {}, { tuning: { threads: 1 } })
  const two = await foldPerfScript(await openInput(p), {}, { tuning: { threads: 2, splitMin: 0, chunkSize: 4096 } })
  assert.equal(two.stats.threads, 2)
  assert.ok(one.output.equals(two.output))
  const keys = one.output.toString('latin1').trimEnd().split('\n').map((l) => Buffer.from(l.slice(0, l.lastIndexOf(' ')), 'latin1'))
  assert.ok(keys.length > 50, `${keys.length} lines`)
  for (let i = 1; i < keys.length; i++) assert.equal(Buffer.compare(keys[i - 1]!, keys[i]!), -1, `line ${i}: ${keys[i - 1]} / ${keys[i]}`)
})

test('fold --thread on perf script keeps the matching process roots (it was ignored on the fast path); no match is a usage error', async () => {
  const sample = (comm: string, frame: string) => `${comm} 1 1.0: 1 cycles:\n\t10 ${frame} (/x)\n\t20 main (/x)\n\n`
  const p = join(dir, 'threads.txt')
  writeFileSync(p, sample('hasher-a', 'fnv') + sample('hasher-b', 'crc') + sample('hasher-a', 'fnv'))
  const all = await runCli(['fold', p])
  assert.equal(all.stdout, 'hasher-a;main;fnv 2\nhasher-b;main;crc 1\n')
  const one = await runCli(['fold', '--thread', 'b$', p])
  assert.equal(one.code, 0, one.stderr)
  assert.equal(one.stdout, 'hasher-b;main;crc 1\n')
  const none = await runCli(['fold', '--thread', 'nope', p])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /--thread nope: no thread matches; threads: hasher-a, hasher-b/)
})

test('line caches: symbols that differ only where 8 bytes read as a double are 0 and -0, or NaN, fold apart', async () => {
  // The cached-line check compares 8 bytes at a time as doubles: 0 === -0 and NaN !== NaN must not
  // decide. Eight zero bytes vs seven and 0x80 (-0), and 0xff bytes (NaN) on both sides.
  const zero = '\0'.repeat(8)
  const negZero = '\0'.repeat(7) + '\x80'
  const nan = '\xff'.repeat(8)
  const sample = (sym: string) => `app 1 1.0: 1 cycles:\n\t4bb8 AAAAAAAA${sym} (/x)\n\t10 main (/x)\n\n`
  const text = [zero, negZero, zero, nan + 'B', nan + 'C', nan + 'B'].map(sample).join('')
  const p = join(dir, 'line-cache-bytes.txt')
  writeFileSync(p, Buffer.from(text, 'latin1'))
  const r = await foldPerfScript(await openInput(p), {}, { tuning: { threads: 1 } })
  const want = [`app;main;AAAAAAAA${zero} 2`, `app;main;AAAAAAAA${negZero} 1`, `app;main;AAAAAAAA${nan}B 2`, `app;main;AAAAAAAA${nan}C 1`]
  assert.equal(r.output.toString('latin1'), want.sort().map((l) => l + '\n').join(''))
  assert.equal(r.stats.uniqueStacks, 4)
})

test('unterminated last sample: kept by default, dropped with --drop-last (like perl)', async () => {
  const path = join(dir, 'unterminated.txt')
  writeFileSync(path, 'app 1 [000] 1.0: 3 cpu-clock:\n\t1 f (/x)\n\napp 1 [000] 1.1: 3 cpu-clock:\n\t1 g (/x)')
  const [keep, drop] = await Promise.all([runCli(['fold', path]), runCli(['fold', '--drop-last', path])])
  assert.equal(keep.stdout, 'app;f 3\napp;g 3\n')
  assert.equal(drop.stdout, 'app;f 3\n')
})
