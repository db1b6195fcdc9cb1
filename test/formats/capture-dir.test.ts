// One reader of capture directories for every command (formats/index.ts loadProfiles + the capture
// importer's readDirectory): the same answer from analyze, top, flamegraph, view, fold, convert and
// diff for an empty directory (exit 4), for a mesh.json that lists `sub/a.capture.json` (read), and
// for one that climbs out of the directory (refused, exit 4).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isCleanFailure, runCli } from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-capdir-'))

/** A small real-shaped cpuprofile: root -> main -> work (self), sampled 40 times. */
function cpuprofile(work: string): string {
  const nodes = [
    { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] },
    { id: 2, callFrame: { functionName: 'main', scriptId: '1', url: 'file:///app.js', lineNumber: 0, columnNumber: 0 }, children: [3] },
    { id: 3, callFrame: { functionName: work, scriptId: '1', url: 'file:///app.js', lineNumber: 9, columnNumber: 0 } },
  ]
  const samples = Array.from({ length: 40 }, () => 3)
  return JSON.stringify({ nodes, startTime: 0, endTime: 40_000, samples, timeDeltas: samples.map(() => 1000) })
}

function capture(at: string, name: string, pid: number, work: string): void {
  mkdirSync(at, { recursive: true })
  writeFileSync(join(at, `${name}.cpuprofile`), cpuprofile(work))
  writeFileSync(join(at, `${name}-${pid}.capture.json`), JSON.stringify({
    meshprof: 'capture', version: 1,
    process: { pid, name, durationMs: 40, rateHz: 1000 },
    profile: { format: 'cpuprofile', file: `${name}.cpuprofile` },
  }))
}

const COMMANDS: string[][] = [['top'], ['analyze'], ['flamegraph', '-o', join(dir, 'x.html')], ['view', '-o', join(dir, 'x.view.html')], ['fold'], ['convert', '--to', 'folded']]

test('an empty directory is the same bad input (exit 4, one line) for every command', async () => {
  const empty = join(dir, 'empty')
  mkdirSync(empty)
  for (const args of [...COMMANDS.map(([c, ...rest]) => [c!, empty, ...rest]), ['diff', empty, empty]]) {
    const r = await runCli(args)
    assert.equal(r.code, 4, `${args[0]}: ${r.stderr}`)
    assert.ok(isCleanFailure(r), r.stderr)
    assert.match(r.stderr, /holds no capture/, args[0])
  }
})

test('a mesh.json listing sub/a.capture.json is read by every command; one climbing out is refused by every command', async () => {
  const mesh = join(dir, 'mesh')
  capture(join(mesh, 'sub'), 'alpha', 11, 'alphaWork')
  capture(join(mesh, 'sub'), 'beta', 12, 'betaWork')
  writeFileSync(join(mesh, 'mesh.json'), JSON.stringify({ meshprof: 'mesh-capture', version: 1, captures: ['sub/alpha-11.capture.json', 'sub/beta-12.capture.json'] }))
  for (const [c, ...rest] of COMMANDS) {
    for (const input of [mesh, join(mesh, 'mesh.json')]) {
      const r = await runCli([c!, input, ...rest])
      assert.equal(r.code, 0, `${c} ${input}: ${r.stderr}`)
    }
  }
  const t = JSON.parse((await runCli(['top', mesh, '--json'])).stdout)
  const one = async (f: string) => JSON.parse((await runCli(['top', join(mesh, 'sub', f), '--json'])).stdout).total as number
  assert.equal(t.total, (await one('alpha-11.capture.json')) + (await one('beta-12.capture.json')), 'both captures')
  assert.deepEqual(t.rows.filter((r: { self: number }) => r.self > 0).map((r: { name: string }) => r.name).sort(), ['alphaWork', 'betaWork'])
  const a = JSON.parse((await runCli(['analyze', mesh, '--json'])).stdout)
  assert.equal(a.profiles.length, 2, 'one analysed profile per capture')
  const d = JSON.parse((await runCli(['diff', mesh, mesh, '--json'])).stdout)
  assert.deepEqual(d.before.nodes.map((n: { name: string }) => n.name).sort(), ['alpha', 'beta'], 'one diff node per process')

  const out = join(dir, 'out')
  capture(dir, 'gamma', 13, 'gammaWork')
  mkdirSync(out)
  writeFileSync(join(out, 'mesh.json'), JSON.stringify({ meshprof: 'mesh-capture', version: 1, captures: ['../gamma-13.capture.json'] }))
  for (const args of [...COMMANDS.map(([c, ...rest]) => [c!, out, ...rest]), ['diff', out, mesh]]) {
    const r = await runCli(args)
    assert.equal(r.code, 4, `${args[0]}: ${r.stderr}`)
    assert.ok(isCleanFailure(r), r.stderr)
    assert.match(r.stderr, /must be a file in the same directory or below it/)
  }
})
