// The model's promises (src/model/types.ts, checked by validateProfile) hold for the output of EVERY
// importer in the registry: each corpus file any importer reads, plus inputs only meshprof writes
// (capture files, a capture directory). A new importer with no input here fails the last assertion.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CORPUS, CORPUS_SKIP, corpusManifest } from '../helpers/cli.js'
import { FORMAT_IDS, loadImporters, loadProfiles } from '../../src/formats/index.js'
import { FORMATS } from '../../src/formats/detect.js'
import { validateProfile } from '../../src/model/builder.js'
import { MeshprofError } from '../../src/util/errors.js'

test('every importer keeps the model invariants (values >= 0, stacks well formed, one time per row)', { skip: CORPUS_SKIP }, async () => {
  const seen = new Map<string, number>()
  const check = async (path: string) => {
    let loaded
    try {
      loaded = await loadProfiles(path)
    } catch (e) {
      assert.ok(e instanceof MeshprofError, `${path}: ${(e as Error).stack}`)
      return // formats meshprof refuses (corpus-import.test checks they fail cleanly)
    }
    for (const p of loaded.profiles) assert.deepEqual(validateProfile(p), [], `${path} (${loaded.format})`)
    seen.set(loaded.format, (seen.get(loaded.format) ?? 0) + 1)
  }
  for (const e of await corpusManifest()) await check(join(CORPUS, e.file))

  // Capture files exist only where meshprof wrote them: one here, around a corpus cpuprofile.
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-invariants-'))
  mkdirSync(join(dir, 'caps'))
  const cpuprofile = (await corpusManifest()).find((e) => e.format === 'cpuprofile')!
  writeFileSync(join(dir, 'caps', 'a.cpuprofile'), readFileSync(join(CORPUS, cpuprofile.file)))
  writeFileSync(join(dir, 'caps', 'a-1.capture.json'), JSON.stringify({
    meshprof: 'capture', version: 1,
    process: { pid: 1, name: 'a', durationMs: 1000, rateHz: 500 },
    profile: { format: 'cpuprofile', file: 'a.cpuprofile' },
    network: { source: 'test', windowMs: 1000, connects: [{ t: 1, remote: '127.0.0.1:1', tls: true }], snapshots: [] },
  }))
  await check(join(dir, 'caps'))

  const missing = FORMAT_IDS.filter((id) => !seen.has(id))
  assert.deepEqual(missing, [], `importers whose output no input here checked: ${missing.join(', ')}`)
})

test('the registry: each format loads the importer of its id, which detects with the same sniffer and reads directories when the registry says so', async () => {
  const importers = await loadImporters()
  assert.deepEqual(importers.map((i) => i.id), [...FORMAT_IDS])
  for (const [k, f] of FORMATS.entries()) {
    assert.equal(importers[k]!.sniff, f.sniff, f.id)
    assert.equal(typeof importers[k]!.readDirectory === 'function', f.readsDirectories, f.id)
  }
})
