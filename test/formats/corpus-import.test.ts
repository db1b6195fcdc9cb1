// Every file of ../shared/corpus goes through `meshprof top`: the formats meshprof reads import (exit 0);
// DevTools traces with CPU profile chunks may import; broken-on-purpose files and formats meshprof does
// not read fail cleanly (exit 4, one line, no stack).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { CORPUS, CORPUS_SKIP, corpusManifest, isCleanFailure, runCli } from '../helpers/cli.js'

const READ = new Set(['perf-script', 'folded', 'pprof', 'cpuprofile', 'speedscope', 'diff', 'v8-prof-log'])
const BROKEN_ON_PURPOSE = new Set(['folded/inferno-empty.txt', 'perf-script/inferno-no-events.txt', 'speedscope/speedscope-invalid-out-of-order-events.json'])

test('every corpus file: supported formats import, the rest fail cleanly with exit 4', { skip: CORPUS_SKIP }, async () => {
  const entries = await corpusManifest()
  const imported: string[] = []
  for (const e of entries) {
    const r = await runCli(['top', join(CORPUS, e.file), '-n', '1', '--json'], { timeoutMs: 60000 })
    const expectOk = READ.has(e.format) && !BROKEN_ON_PURPOSE.has(e.file)
    if (expectOk) {
      assert.equal(r.code, 0, `${e.file}: ${r.stderr}`)
      const j = JSON.parse(r.stdout)
      assert.ok(j.total > 0 || j.rows.length === 0, `${e.file}: total ${j.total}`)
      imported.push(e.file)
    } else if (e.format === 'chrome-trace' && r.code === 0) {
      // DevTools traces that carry CPU profile chunks are read by the cpuprofile importer.
      imported.push(e.file)
    } else {
      assert.equal(r.code, 4, `${e.file} (${e.format}) should be refused with exit 4, got ${r.code}: ${r.stderr}`)
      assert.ok(isCleanFailure(r), `${e.file}: ${r.stderr}`)
    }
  }
  assert.ok(imported.length >= 50, `only ${imported.length} corpus files imported`)
})
