// What a command loads before it does its work: start-up is most of a small command's time and a
// fixed part of `fold`'s speed goal (bench/real.mjs). A module-load hook lists every module the real
// CLI loads; the list is deterministic, unlike a timing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { BIN, ROOT } from './helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-startup-'))
const hook = join(dir, 'hook.mjs')
// Registers a loader whose load() reports each module URL on stderr, prefixed so it cannot be
// mistaken for the CLI's own output.
writeFileSync(hook, `import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`
export async function load(url, context, next) {
  process.stderr.write('LOADED ' + url + '\\\\n')
  return next(url, context)
}\`))
`)

function loaded(args: string[]): { code: number | null; stdout: string; modules: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', hook, BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  const modules = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length))
  return { code: r.status, stdout: r.stdout, modules, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('LOADED ')).join('\n') }
}

const ours = (modules: string[]) => modules.filter((u) => u.includes('/dist/src/')).map((u) => u.slice(u.indexOf('/dist/src/') + '/dist/src/'.length))
const IMPORTERS = ['formats/capture-file.js', 'formats/cpuprofile.js', 'formats/speedscope.js', 'formats/pprof.js', 'formats/v8-prof.js', 'formats/perf-script.js', 'formats/folded.js']

test('fold of perf script loads the folder only: no importer, no model, yargs and chalk as one bundled module', () => {
  const perf = join(dir, 'a.perf')
  writeFileSync(perf, 'app 1 1.0: 1 cycles:\n\t10 leaf (/x)\n\t20 main (/x)\n\n')
  const r = loaded(['fold', perf])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stdout, 'app;main;leaf 1\n')
  const mine = ours(r.modules)
  assert.ok(mine.includes('formats/perf-fold.js') && mine.includes('formats/detect.js'), mine.join(' '))
  for (const m of [...IMPORTERS, 'formats/index.js', 'model/ops.js', 'model/builder.js', 'formats/demangle.js', 'analyze/index.js']) assert.ok(!mine.includes(m), `${m} loaded`)
  // The vendor bundle (scripts/bundle-vendor.mjs) stands for yargs' ~40 modules and chalk's.
  const deps = r.modules.filter((u) => u.includes('/node_modules/'))
  assert.deepEqual(deps, [], `loaded from node_modules: ${deps.join(' ')}`)
  assert.ok(r.modules.length < 50, `${r.modules.length} modules`)
})

test('an importer loads once its format is detected, and only that one', () => {
  const folded = join(dir, 'a.folded')
  writeFileSync(folded, 'main;work 3\nmain;idle 1\n')
  const pprofGz = join(dir, 'a.pb.gz')
  // A profile.proto with one sample type ("samples"/"count"), as gzip: enough for detection.
  writeFileSync(pprofGz, gzipSync(Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00, 0x32, 0x07, 0x73, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x73, 0x32, 0x05, 0x63, 0x6f, 0x75, 0x6e, 0x74])))
  for (const [file, want] of [[folded, 'formats/folded.js'], [pprofGz, 'formats/pprof.js']] as const) {
    const r = loaded(['top', file])
    const mine = ours(r.modules)
    assert.ok(mine.includes(want), `${file}: ${want} not loaded (exit ${r.code}: ${r.stderr})`)
    assert.deepEqual(IMPORTERS.filter((m) => m !== want && mine.includes(m)), [], file)
  }
})
