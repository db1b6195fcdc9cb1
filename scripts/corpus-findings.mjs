#!/usr/bin/env node
// How many findings each analyze rule produces over the test corpus (../shared/corpus), so that the
// thresholds are not tuned to one fixture. Run after `npm run build`:
//   node scripts/corpus-findings.mjs [--corpus DIR] [--json] [--files]
// Prints a markdown table (rule x severity), every analysed file with its findings or "none" (--files;
// test/analyze/corpus.test.ts says why each file is believed free of a storm or a spin), and one
// `CORPUS_FINDINGS_JSON {...}` line.
import { existsSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const corpusArg = args.indexOf('--corpus')
const corpus = corpusArg >= 0 ? args[corpusArg + 1] : process.env.MESHPROF_CORPUS ?? join(root, '..', 'shared', 'corpus')
const showFiles = args.includes('--files')
if (!existsSync(join(corpus, 'manifest.json'))) {
  console.error(`corpus not found at ${corpus} (set MESHPROF_CORPUS or --corpus)`)
  process.exit(3)
}
const { loadProfiles } = await import(join(root, 'dist/src/formats/index.js'))
const { analyzeProfileDetailed, RULES, SEVERITIES } = await import(join(root, 'dist/src/analyze/index.js'))

const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8'))
const counts = Object.fromEntries(RULES.map((r) => [r.id, { high: 0, medium: 0, low: 0, info: 0, files: new Set() }]))
const skips = Object.fromEntries(RULES.map((r) => [r.id, 0]))
const failures = []
let files = 0
let imported = 0
let profiles = 0
const perFile = []
const started = process.hrtime.bigint()
for (const e of manifest) {
  files++
  let loaded
  try {
    loaded = await loadProfiles(join(corpus, e.file), {})
  } catch (err) {
    continue // not a format meshprof reads (or broken on purpose): analyze is never reached
  }
  imported++
  for (const p of loaded.profiles) {
    profiles++
    let a
    try {
      a = analyzeProfileDetailed(p)
    } catch (err) {
      failures.push(`${e.file}: ${err?.message ?? err}`)
      continue
    }
    for (const s of a.skipped) {
      skips[s.ruleId] = (skips[s.ruleId] ?? 0) + 1
      if (/^rule failed/.test(s.reason)) failures.push(`${e.file}: ${s.ruleId}: ${s.reason}`)
    }
    for (const f of a.findings) {
      counts[f.ruleId][f.severity]++
      counts[f.ruleId].files.add(e.file)
      perFile.push(`${e.file}${loaded.profiles.length > 1 ? ` [${p.meta.name}]` : ''}: ${f.severity} ${f.ruleId}: ${f.message}`)
    }
    if (a.findings.length === 0) perFile.push(`${e.file}${loaded.profiles.length > 1 ? ` [${p.meta.name}]` : ''}: none`)
  }
}
const ms = Number(process.hrtime.bigint() - started) / 1e6
console.log(`corpus: ${files} files, ${imported} imported by meshprof (${profiles} profiles), analyzed in ${ms.toFixed(0)} ms\n`)
console.log('| rule | high | medium | low | info | files with a finding | not checked (profiles) |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of RULES) {
  const c = counts[r.id]
  console.log(`| ${r.id} | ${c.high} | ${c.medium} | ${c.low} | ${c.info} | ${c.files.size} | ${skips[r.id]} |`)
}
if (showFiles) {
  console.log('\nfindings:')
  for (const l of perFile) console.log(`- ${l}`)
}
if (failures.length) {
  console.log('\nFAILURES:')
  for (const f of failures) console.log(`- ${f}`)
}
const json = { files, imported, profiles, ms: Math.round(ms), failures: failures.length, rules: Object.fromEntries(RULES.map((r) => [r.id, { ...Object.fromEntries(SEVERITIES.map((s) => [s, counts[r.id][s]])), files: counts[r.id].files.size, notChecked: skips[r.id] }])) }
console.log(`\nCORPUS_FINDINGS_JSON ${JSON.stringify(json)}`)
process.exit(failures.length ? 1 : 0)
