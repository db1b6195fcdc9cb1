// The growth rule's verdicts on hand-built series: what counts as growth (steady, never back down,
// still rising at the end) and the look-alikes that must not be flagged (warm-up that plateaus, one
// jump, a GC sawtooth, a bounded cache replacing its entries). Real processes: test/capture/growth.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { floorSeries, growthFindings, risingTrend, GROWTH_THRESHOLDS } from '../../src/analyze/rules/growth.js'
import type { GrowthEvidence } from '../../src/model/types.js'
import { runCli } from '../helpers/cli.js'

const tv = (k: string) => GROWTH_THRESHOLDS[k]!.default
const series = (vals: number[], everyMs = 1000): Array<[number, number]> => vals.map((v, i) => [i * everyMs, v])

test('a steady rise is a trend, with its rate per hour', () => {
  const tr = risingTrend(series([10, 20, 30, 40, 50, 60]), 5, tv)
  assert.ok(tr)
  assert.equal(tr.gain, 50)
  assert.ok(Math.abs(tr.perHour - 36000) < 1, String(tr.perHour)) // 10 per second
})

test('not a trend: warm-up that plateaus, one jump, a drop back down, too few points, too small a gain', () => {
  assert.equal(risingTrend(series([0, 40, 70, 80, 80, 80, 80, 80]), 5, tv), undefined, 'warm-up then plateau')
  assert.equal(risingTrend(series([10, 10, 10, 60, 60, 60]), 5, tv), undefined, 'one jump')
  assert.equal(risingTrend(series([10, 20, 30, 40, 12, 50]), 5, tv), undefined, 'came back down')
  assert.equal(risingTrend(series([10, 50]), 5, tv), undefined, 'two points')
  assert.equal(risingTrend(series([10, 11, 12, 13]), 5, tv), undefined, 'gain below the minimum')
})

test('a GC sawtooth is judged on the level it comes back down to', () => {
  const flat = series([60, 90, 61, 95, 60, 92, 61, 97])
  assert.equal(risingTrend(floorSeries(flat), 5, tv), undefined, 'flat floor under a sawtooth')
  const rising = series([60, 90, 70, 100, 80, 110, 90, 120, 100])
  const tr = risingTrend(floorSeries(rising), 5, tv)
  assert.ok(tr, 'rising floor')
  assert.ok(tr.last <= 100, 'the last point (no later point to bring it down) is not taken at its peak')
})

const MB = 1024 * 1024
function window(site: number[], heapUsed: number[], timers: number[]): GrowthEvidence {
  return {
    windowMs: (site.length - 1) * 1000,
    series: [
      { name: 'handles.Timeout', unit: 'count', points: series(timers) },
      { name: 'heap.used', unit: 'bytes', points: series(heapUsed) },
    ],
    sites: [{ frames: ['listOnTimeout node:internal/timers:524', 'onPeerReconnect /app/node.js:196', 'connectPeer /app/node.js:52'], points: series(site) }],
  }
}

test('one window: a growing site whose heap floor grows with it, and the timers, are findings with the incident\'s remedies', () => {
  const g = window([0, 100e3, 200e3, 300e3, 400e3, 500e3], [20 * MB, 20.2 * MB, 20.3 * MB, 20.5 * MB, 20.6 * MB, 20.8 * MB], [10, 30, 50, 70, 90, 110])
  const fs = growthFindings([{ growth: g, offsetMs: 0 }], tv, 'during the window')
  const timers = fs.find((f) => f.evidence.numbers.series === 'handles.Timeout')
  assert.ok(timers)
  assert.match(timers.remedy, /clear the per-connection timer on close/)
  assert.match(timers.evidence.notes[0]!, /^handles\.Timeout: 0s 10, 1s 30, 2s 50/)
  const site = fs.find((f) => f.frames.includes('onPeerReconnect'))
  assert.ok(site, fs.map((f) => f.message).join('\n'))
  assert.match(site.remedy, /remove closed peers from every registry/)
  assert.deepEqual(site.evidence.stacks[0]!.frames.slice(-1), ['connectPeer /app/node.js:52'])
  assert.equal(fs.some((f) => f.evidence.numbers.series === 'heap.used'), false, 'heap floor alone is not judged on a 5 s window')
})

test('a bounded cache replacing its entries: the site grows in the window but the heap floor does not: no finding', () => {
  const g = window([0, 100e3, 200e3, 300e3, 400e3, 500e3], [20 * MB, 24 * MB, 20 * MB, 25 * MB, 20 * MB, 23 * MB], [10, 10, 10, 10, 10, 10])
  assert.deepEqual(growthFindings([{ growth: g, offsetMs: 0 }], tv, 'during the window').map((f) => f.message), [])
})

test('across captures: the same site growing in two windows minutes apart, heap floor and timers growing between them', () => {
  const a = window([0, 100e3, 200e3, 300e3, 400e3], [20 * MB, 20.1 * MB, 20.2 * MB, 20.3 * MB, 20.4 * MB], [10, 30, 50, 70, 90])
  const b = window([0, 100e3, 200e3, 300e3, 400e3], [50 * MB, 50.1 * MB, 50.2 * MB, 50.3 * MB, 50.4 * MB], [3010, 3030, 3050, 3070, 3090])
  const fs = growthFindings([{ growth: a, offsetMs: 0 }, { growth: b, offsetMs: 300_000 }], tv, 'across 2 captures')
  const site = fs.find((f) => f.frames.includes('onPeerReconnect'))
  assert.ok(site)
  assert.equal(site.evidence.numbers.captures, 2)
  const heap = fs.find((f) => f.evidence.numbers.series === 'heap.used')
  assert.ok(heap, 'a 5-minute timeline judges the heap floor')
  assert.equal(fs.find((f) => f.evidence.numbers.series === 'handles.Timeout')?.severity, 'high')
  // warm-up between the captures, flat in the second: not growth
  const c = window([0, 0, 0, 0, 0], [50 * MB, 50 * MB, 50 * MB, 50 * MB, 50 * MB], [3010, 3010, 3010, 3010, 3010])
  assert.deepEqual(growthFindings([{ growth: a, offsetMs: 0 }, { growth: c, offsetMs: 300_000 }], tv, 'x').filter((f) => f.evidence.numbers.series === 'handles.Timeout'), [])
})

test('a capture file with a malformed growth section is refused: exit 4, one line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshprof-growth-bad-'))
  const file = join(dir, 'x-1.capture.json')
  writeFileSync(file, JSON.stringify({ meshprof: 'capture', version: 1, process: { pid: 1, name: 'x' }, growth: { series: [{ name: 'rss', unit: 'bytes', points: [[0, 'a lot']] }] }, warnings: [] }))
  const r = await runCli(['analyze', file])
  assert.equal(r.code, 4, r.stderr)
  assert.match(r.stderr, /growth: a series lacks name, unit/)
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
})
