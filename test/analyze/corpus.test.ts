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
