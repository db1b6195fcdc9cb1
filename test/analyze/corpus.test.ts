// Every corpus file meshprof can import runs through analyze without error; the real Node TLS connect
// loop in the corpus is recognised. (Counts per rule: scripts/corpus-findings.mjs, docs/analyze.md.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { CORPUS, CORPUS_SKIP, corpusManifest, runCli } from '../helpers/cli.js'
import { loadProfiles } from '../../src/formats/index.js'
import { analyzeProfileDetailed, analyzeProfiles } from '../../src/analyze/index.js'
import { renderReport } from '../../src/render/findings.js'

test('every importable corpus file runs through analyze without error', { skip: CORPUS_SKIP }, async () => {
  const manifest = await corpusManifest()
  let imported = 0
  const failures: string[] = []
  for (const e of manifest) {
    let profiles
    try {
      profiles = (await loadProfiles(join(CORPUS, e.file))).profiles
    } catch {
      continue // not importable (other formats, broken on purpose): analyze never sees it
    }
    imported++
    try {
      const report = analyzeProfiles(profiles.map((profile) => ({ input: e.file, profile })))
      for (const p of report.profiles) for (const s of p.skipped) if (/^rule failed/.test(s.reason)) failures.push(`${e.file}: ${s.ruleId}: ${s.reason}`)
      for (const f of report.findings) {
        if (!(f.share >= 0 && f.share <= 1)) failures.push(`${e.file}: ${f.ruleId}: share ${f.share}`)
        if (/\n/.test(f.message)) failures.push(`${e.file}: ${f.ruleId}: multi-line message`)
      }
      renderReport(report)
      JSON.stringify(report)
    } catch (err) {
      failures.push(`${e.file}: ${(err as Error).stack}`)
    }
  }
  assert.deepEqual(failures, [])
  assert.ok(imported >= 20, `only ${imported} corpus files imported`)
})

test('corpus: the real Node TLS connect loop is a connect storm (recurring, handshake CPU under socket callbacks)', { skip: CORPUS_SKIP }, async () => {
  const file = join(CORPUS, 'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile')
  const [p] = (await loadProfiles(file)).profiles
  const a = analyzeProfileDetailed(p!)
  const f = a.findings.find((x) => x.ruleId === 'connect-storm')
  assert.ok(f, JSON.stringify(a.findings.map((x) => x.ruleId)))
  assert.equal(f.severity, 'high')
  // share of the on-CPU samples (idle excluded): about half of the process's CPU
  assert.ok(f.share > 0.45 && f.share < 0.6, String(f.share))
  assert.equal(f.evidence.numbers.periodicSource, 'recurring-in-time')
  assert.match(f.evidence.notes.join('\n'), /connects start from joinPeers/)
  assert.match(f.evidence.notes.join('\n'), /handshake work under socket callbacks \(ssl\.onhandshakedone/)
  // nothing else in it is a problem: no GC pressure (5%), no busy-wait (the loop awaits)
  assert.deepEqual(a.findings.map((x) => x.ruleId), ['connect-storm'])
  const r = await runCli(['analyze', file, '--fail-on', 'high'])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stdout, /HIGH\s+connect-storm\s+5\d\.\d% of CPU in connect\/handshake/)
})

// Why each public corpus file is believed free of a connect storm and of a busy-wait (a spin that
// re-polls without doing work). Real-world profiles nobody here wrote: the rules must stay quiet on
// them (issue 9). A file of the held-out set that is not listed here is held to the same rule unless
// its manifest notes say it is a connect / handshake loop or a spin.
const BELIEVED_CLEAN: Record<string, string> = {
  'chrome-trace/speedscope-Chrome69-simple.json': 'a browser page trace (speedscope sample): page JS, no sockets, no re-poll loop',
  'cpuprofile/0x-samples-cpu-prof.cpuprofile': 'a Koa HTTP server under autocannon load: busy with request parsing and writes, the case of issue 9; connections are accepted, never re-dialled',
  'cpuprofile/speedscope-Chrome65-simple.cpuprofile': 'a tiny browser page profile (a -> c -> d): plain computation',
  'cpuprofile/speedscope-node10-example.cpuprofile': 'a small Node 10 example script: computation, no network',
  'diff/inferno-diff-after.txt': 'inferno test stacks (hex addresses): a benchmark program, no network',
  'diff/inferno-diff-before.txt': 'inferno test stacks (hex addresses): a benchmark program, no network',
  'folded/async-profiler-sample1.collapsed': 'a Java application sampled by async-profiler: computation and JVM frames, no dial loop',
  'folded/inferno-bad-lines.txt': 'inferno parser test (bad lines mixed in): perf stacks of a Java/Vert.x program',
  'folded/inferno-base-flames.txt': 'a Rust GraphQL server (folded): request work; no re-poll frame holding a core',
  'folded/inferno-fractional.txt': 'inferno parser test of fractional counts: small synthetic stacks',
  'folded/inferno-narrow-blocks.txt': 'inferno rendering test with many narrow frames: a program profile, no sockets',
  'folded/inferno-no-fractionals.txt': 'same stacks as inferno-fractional.txt',
  'folded/inferno-perf-vertx-stacks-01-collapsed-all-unsorted-1.txt': 'a Vert.x server: accepts and serves on established connections, no periodic re-dial',
  'folded/inferno-zero-fractionals.txt': 'same stacks as inferno-fractional.txt',
  'folded/speedscope-alternating.txt': 'speedscope test stacks (a/b/c alternating): synthetic',
  'folded/speedscope-recursion.txt': 'speedscope recursion test: synthetic',
  'folded/speedscope-simple-crlf.txt': 'speedscope five-sample test: synthetic',
  'folded/speedscope-simple-with-invalids.txt': 'speedscope parser test: synthetic',
  'folded/speedscope-simple.txt': 'speedscope parser test: synthetic',
  'folded/speedscope-tall.txt': 'speedscope one deep stack: synthetic',
  'perf-script/flamegraph-perf-cycles-instructions-01.txt': 'FlameGraph test: a short command under perf (cycles/instructions), no network',
  'perf-script/flamegraph-perf-dd-stacks-01.txt': 'dd copying blocks: I/O-bound syscalls, not a spin',
  'perf-script/flamegraph-perf-funcab-cmd-01.txt': 'FlameGraph test program func_a/func_b: computation',
  'perf-script/flamegraph-perf-funcab-pid-01.txt': 'FlameGraph test program func_a/func_b: computation',
  'perf-script/flamegraph-perf-java-faults-01.txt': 'page-fault events of a Java program: not CPU samples of a loop',
  'perf-script/flamegraph-perf-java-stacks-02.txt': 'a Java program under perf: JIT frames of application work',
  'perf-script/flamegraph-perf-mirageos-stacks-01.txt': 'a MirageOS unikernel: its scheduler sleeps between events',
  'perf-script/flamegraph-perf-rust-Yamakaky-dcpu.txt': 'a DCPU-16 emulator in Rust: a CPU-bound interpreter loop, computation not a re-poll',
  'perf-script/inferno-cpp-stacks-std-function.txt': 'a C++ program with std::function: computation',
  'perf-script/inferno-empty-line.txt': 'inferno parser test (an empty line after an event)',
  'perf-script/inferno-go-stacks.txt': 'a Go program: goroutines computing, the Go scheduler parks when idle',
  'perf-script/inferno-sourcepawn-jitdump.txt': 'a SourcePawn JIT running scripts: computation',
  'perf-script/inferno-weird-stack-line.txt': 'inferno parser test (a weird stack line)',
  'perf-script/local-perf-gzip-F499.txt': 'gzip -9 compressing a file: CPU-bound compression, not a spin',
  'perf-script/local-perf-perl-stackcollapse-F499.txt': 'perl running stackcollapse-perf.pl: text processing',
  'perf-script/speedscope-forks.linux-perf.txt': 'a test program that forks and computes (alpha/beta/gamma)',
  'perf-script/speedscope-simple-with-header.linux-perf.txt': 'a test program that computes (alpha/beta/gamma)',
  'perf-script/speedscope-simple-with-pid.linux-perf.txt': 'a test program that computes (alpha/beta/gamma)',
  'perf-script/speedscope-simple.linux-perf.txt': 'one sample of a test program',
  'pprof/parca-alloc_space_delta.pb.gz': 'an allocation profile (bytes), not CPU',
  'pprof/parca-fib.pb': 'a Go example app computing Fibonacci numbers with math/big: a hot CPU-bound loop, not a re-poll',
  'pprof/parca-labels.pb.gz': 'a Go CPU profile with labels: application work',
  'pprof/parca-many-1644509272337470000.pb.gz': 'a heap profile, not CPU',
  'pprof/parca-many-1644509299337903000.pb.gz': 'a heap profile, not CPU',
  'pprof/parca-no-python.pb.gz': 'a sampled native program: application work',
  'pprof/parca-node-profile.pb.gz': 'a Node app computing fib() from a timer: a hot loop, not a re-poll',
  'pprof/parca-normal-cpu.stripped.pprof': 'a stripped Go binary (bare addresses): nothing on its stacks says re-poll',
  'pprof/parca-normalizer-profile.pb.gz': 'parca normaliser test profile',
  'pprof/parca-profile1.pb.gz': 'a Go CPU profile of application work',
  'pprof/parca-single-stack.pb.gz': 'a single-stack test profile',
  'pprof/parca-two-stacks.pb.gz': 'a two-stack test profile',
  'pprof/parca-without-dwarf-cpu.stripped.pprof': 'a stripped Go binary (bare addresses): nothing on its stacks says re-poll',
  'pprof/pprof-go.nomappings.crash': 'a Go crash test profile: no mesh',
  'pprof/pprof-gobench.cpu.pb.gz': 'Go benchmarks: CPU-bound computation',
  'pprof/pprof-sample.cpu': 'a Go sample program whose main.busyLoop iterates a map: computation named "busy", with no yield, poll or receive',
  'pprof/speedscope-pprof-simple.prof': 'a small Go test program',
  'speedscope/speedscope-0.0.1-simple.speedscope.json': 'speedscope format test: synthetic',
  'speedscope/speedscope-0.1.2-simple-sampled.speedscope.json': 'speedscope format test: synthetic',
}

/** Files that are such a bug on purpose (recorded for the corpus), with the rule that must find it. */
const KNOWN_BUGS: Record<string, string> = {
  'cpuprofile/local-node20-tls-handshake-crypto.cpuprofile': 'connect-storm', // 8 s of TLS handshakes to 127.0.0.1, 8 peers per tick
}

test('corpus: every real profile analysed; per file its findings; no connect-storm or busy-wait above info on a file without such a bug', { skip: CORPUS_SKIP }, async (t) => {
  const manifest = await corpusManifest()
  const listing: string[] = []
  const alarms: string[] = []
  let analysed = 0
  for (const e of manifest) {
    let profiles
    try {
      profiles = (await loadProfiles(join(CORPUS, e.file))).profiles
    } catch {
      continue // not a format meshprof reads: analyze never sees it
    }
    analysed++
    const report = analyzeProfiles(profiles.map((profile) => ({ input: e.file, profile })))
    const found = report.findings.map((f) => `${f.severity} ${f.ruleId} (${(f.share * 100).toFixed(1)}%)`)
    const suspect = KNOWN_BUGS[e.file] ?? (!(e.file in BELIEVED_CLEAN) && /handshake|connect storm|spin|busy.?wait/i.test(e.notes ?? '') ? 'listed, not asserted (its notes describe such a loop)' : undefined)
    listing.push(`${e.file}: ${found.join(', ') || 'no findings'}${suspect ? `   [known: ${suspect}]` : `   [clean: ${BELIEVED_CLEAN[e.file] ?? 'held-out file, no such loop in its notes'}]`}`)
    if (suspect) continue
    for (const f of report.findings) {
      if ((f.ruleId === 'connect-storm' || f.ruleId === 'busy-wait') && f.severity !== 'info') alarms.push(`${e.file}: ${f.severity} ${f.ruleId}: ${f.message}`)
    }
  }
  t.diagnostic(`corpus findings per file:\n${listing.join('\n')}`)
  process.stderr.write(`corpus findings per file (${analysed} analysed):\n${listing.map((l) => `  ${l}`).join('\n')}\n`)
  assert.deepEqual(alarms, [], 'false alarms on real profiles')
  assert.ok(analysed >= 20, `only ${analysed} corpus files analysed`)
  // the known storm is still found: the rule is quiet on the others because it discriminates
  for (const [file, rule] of Object.entries(KNOWN_BUGS)) {
    if (!manifest.some((e) => e.file === file)) continue
    const [p] = (await loadProfiles(join(CORPUS, file))).profiles
    assert.ok(analyzeProfileDetailed(p!).findings.some((f) => f.ruleId === rule && f.severity === 'high'), `${file}: ${rule} not found`)
  }
})
