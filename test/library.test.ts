// meshprof as a dependency: the packed tarball installs into a fresh project (offline, from the npm
// cache) and its public API imports from JavaScript and type-checks from TypeScript.
import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT } from './helpers/cli.js'

const work = mkdtempSync(join(tmpdir(), 'meshprof-library-'))
const app = join(work, 'app')
const NPM = { encoding: 'utf8' as const, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } }

const BEFORE = 'main;runGossip;joinPeers;connectPeer;tls.connect 60\nmain;runGossip;emit 30\nmain;idle 10\n'
const AFTER = 'main;runGossip;emit 30\nmain;idle 70\n'

before(() => {
  // --ignore-scripts: `prepare` would rebuild dist/ under the running tests; the build is already there.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { ...NPM, cwd: ROOT })) as { filename: string; integrity: string; files: { path: string }[] }[]
  const tgz = `file:../${packed[0]!.filename}`
  // A lock file for the new project made of the tarball plus meshprof's own runtime entries, so
  // `npm ci --offline` installs exactly the versions meshprof is tested with, from the npm cache.
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { meshprof: tgz } },
    'node_modules/meshprof': { version: pkg.version, resolved: tgz, integrity: packed[0]!.integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  }
  for (const [path, meta] of Object.entries(lock.packages)) if (path !== '' && !meta.dev) packages[path] = meta
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { meshprof: tgz } }))
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }))
  execFileSync('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { ...NPM, cwd: app })
  writeFileSync(join(app, 'before.folded'), BEFORE)
  writeFileSync(join(app, 'after.folded'), AFTER)
})

test('the packed package ships its entry point and type declarations', () => {
  const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'meshprof', 'package.json'), 'utf8'))
  const entry = pkg.exports['.']
  for (const f of [entry.default, entry.types, pkg.exports['./agent'], pkg.bin.meshprof]) {
    assert.ok(readFileSync(join(app, 'node_modules', 'meshprof', f)).length > 0, `${f} is in the tarball`)
  }
})

test('imported from JavaScript: load, top, analyze, diff, render, and the CLI bin works', () => {
  writeFileSync(join(app, 'use.mjs'), `
import { loadProfile, top, analyze, diff, renderFlamegraphHtml, capture, runWithAgent, VERSION, MeshprofError, EXIT } from 'meshprof'
import { createRequire } from 'node:module'
const p = await loadProfile('before.folded')
const t = top(p, { limit: 2 })
const findings = analyze(p)
const d = await diff('before.folded', 'after.folded')
const html = renderFlamegraphHtml(p, { title: 'lib <test>' })
let err
try { await loadProfile('missing.folded') } catch (e) { err = e }
console.log(JSON.stringify({
  VERSION, total: t.total, first: t.rows[0].name, firstShare: t.rows[0].selfShare,
  findings: findings.map((f) => f.ruleId), gone: d.rows.filter((r) => r.status === 'gone').map((r) => r.name),
  resolved: d.findings?.resolved.map((f) => f.ruleId) ?? null,
  html: html.startsWith('<!DOCTYPE html>') && html.includes('lib &lt;test&gt;'),
  err: err instanceof MeshprofError ? err.exitCode === EXIT.IO : String(err),
  capture: typeof capture, run: typeof runWithAgent,
  agent: createRequire(import.meta.url).resolve('meshprof/agent').endsWith('preload.cjs'),
}))
try { await import('meshprof/dist/src/analyze/index.js'); console.log('deep import allowed') } catch (e) { console.log(e.code) }
`)
  const r = spawnSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const [json, deep] = r.stdout.trim().split('\n')
  const j = JSON.parse(json!)
  assert.equal(j.VERSION, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
  assert.equal(j.total, 100)
  assert.equal(j.first, 'tls.connect')
  assert.equal(j.firstShare, 0.6)
  assert.ok(j.findings.includes('connect-storm'), JSON.stringify(j.findings))
  assert.ok(j.gone.includes('joinPeers'), JSON.stringify(j.gone))
  assert.ok(j.resolved.includes('connect-storm'), JSON.stringify(j.resolved))
  assert.equal(j.html, true, 'a page, with the title escaped')
  assert.equal(j.err, true, 'a missing file is a MeshprofError with the CLI exit code')
  assert.deepEqual([j.capture, j.run, j.agent], ['function', 'function', true])
  assert.equal(deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'only the public API is importable')
  const cli = spawnSync(process.execPath, [join(app, 'node_modules', '.bin', 'meshprof'), 'top', 'after.folded', '--json'], { cwd: app, encoding: 'utf8' })
  assert.equal(cli.status, 0, cli.stderr)
  assert.equal(JSON.parse(cli.stdout).total, 100)
})

test('imported from TypeScript: the declarations type-check (tsc --noEmit), and a wrong option is an error', () => {
  const source = `
import { loadProfile, top, analyze, diff, renderFlamegraphHtml, capture, type Finding, type Profile, type CaptureOptions, type DiffResult } from 'meshprof'
const p: Profile = await loadProfile('before.folded')
const rows: number = top(p, { by: 'module', limit: 3 }).rows.length
const findings: Finding[] = analyze(p, { thresholds: { 'connect-storm.minShare': 0.2 } })
const d: DiffResult = await diff(p, 'after.folded', { findings: false, by: 'function' })
const html: string = renderFlamegraphHtml(p, { title: 'x', icicle: true })
const opts: CaptureOptions = { pids: [1], durationMs: 1000, rateHz: 99, outDir: 'cap' }
console.log(rows, findings.length, d.rows.length, html.length, typeof capture, opts.pids)
`
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      // check meshprof's .d.ts files too, not only the use of them
      skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    files: ['use.ts', 'wrong.ts'],
  }))
  writeFileSync(join(app, 'use.ts'), source)
  // the types are real, not `any`: a wrong option and a wrong result type fail to compile
  writeFileSync(join(app, 'wrong.ts'), `import { top, loadProfile } from 'meshprof'\nconst p = await loadProfile('x')\ntop(p, { by: 'nope' })\nconst n: string = top(p).total\nexport { n }\n`)
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app, encoding: 'utf8' })
  const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l))
  assert.deepEqual(errors.filter((l) => !l.startsWith('wrong.ts')), [], 'use.ts and the .d.ts files type-check')
  assert.equal(errors.length, 2, r.stdout)
  assert.match(errors[0]!, /^wrong\.ts\(3,[^)]*\): error TS2322: Type '"nope"' is not assignable/)
  assert.match(errors[1]!, /^wrong\.ts\(4,[^)]*\): error TS2322: Type 'number' is not assignable to type 'string'/)
})
