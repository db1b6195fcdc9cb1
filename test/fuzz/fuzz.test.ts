// A short fuzz run inside `npm test` (the long one is `npm run fuzz`): mutated corpus and sample
// inputs through every importer and every command that reads profiles, in-process and a sample
// through the real CLI. Fails if any case breaks the contract: a result, or one clear line with a
// documented exit code; no stack trace, no hang, no unbounded memory.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { runFuzz, formatSummary, contractBreach } from './harness.js'
import { TARGETS, loadSeeds, makeCase } from './cases.js'
import { CORPUS, HAS_CORPUS } from '../helpers/cli.js'

const SEED = 20261206

describe('fuzz', () => {
  test('~500 mutated inputs through every importer and command keep the error contract', { timeout: 180_000 }, async () => {
    const failDir = mkdtempSync(join(tmpdir(), 'meshprof-fuzz-fail-'))
    const s = await runFuzz({
      seed: SEED, cases: TARGETS.length * 24, seconds: 30, jobs: 2, timeoutMs: 30_000, heapMb: 1024, maxRssMb: 3072,
      cliEvery: 42, failDir, corpus: HAS_CORPUS ? CORPUS : undefined, log: (l) => process.stderr.write(l + '\n'),
    })
    process.stderr.write(formatSummary(s) + '\n')
    assert.deepEqual(s.failures.map((f) => `case ${f.index} ${f.target} ${f.via}: ${f.why} (input in ${f.dir})`), [])
    // Not cut short by the time bound on a loaded machine, or at least most of it ran.
    assert.ok(s.cases >= TARGETS.length * 10, `only ${s.cases} cases ran`)
    for (const t of TARGETS) assert.ok(s.byTarget[t.id], `no case fed ${t.id}`)
    const outcomes = new Set(Object.values(s.byTarget).flatMap((c) => Object.keys(c)))
    // Both sides of the contract were exercised: inputs that load and inputs refused with exit 4.
    assert.ok(outcomes.has('exit 0') && outcomes.has('exit 4'), [...outcomes].join(', '))
    assert.ok(s.cliCases > 0, 'no case went through the real CLI')
    assert.ok(Object.keys(s.byMutation).length >= 12, Object.keys(s.byMutation).join(', '))
  })

  test('the harness catches a hang, a heap past its bound, RSS past its bound and a late throw, keeps the input and goes on', { timeout: 120_000 }, async () => {
    const failDir = mkdtempSync(join(tmpdir(), 'meshprof-fuzz-probe-'))
    const s = await runFuzz({
      seed: SEED, cases: 8, seconds: 100, jobs: 1, timeoutMs: 5000, heapMb: 192, maxRssMb: 900, cliEvery: 0, failDir,
      corpus: HAS_CORPUS ? CORPUS : undefined, probes: { 1: 'hang', 3: 'oom', 4: 'late-throw', 6: 'rss' }, log: () => {},
    })
    assert.equal(s.cases, 8)
    const why = new Map(s.failures.map((f) => [f.index, f.why]))
    // A throw from a timer is blamed on the case in flight when it fires: under load the next case
    // (5) may already have started.
    const late = why.has(4) ? 4 : 5
    assert.deepEqual([...why.keys()].sort(), [1, 3, late, 6], JSON.stringify([...why]))
    assert.match(why.get(6)!, /RSS \d+ MB past 900 MB/)
    assert.match(why.get(1)!, /no result within 5000 ms \(hang\)/)
    assert.match(why.get(3)!, /heap grew past 192 MB/)
    assert.match(why.get(late)!, /uncaught.*thrown after the result/)
    // The reproducing input and how to rerun it.
    const note = JSON.parse(readFileSync(join(failDir, `seed-${SEED}-case-1`, 'case.json'), 'utf8'))
    assert.equal(note.reproduce, `npm run fuzz -- --seed ${SEED} --case 1`)
    assert.ok(existsSync(join(failDir, `seed-${SEED}-case-1`, note.main)))
  })

  test('cases are a pure function of (seed, index): the same bytes for the same target', async () => {
    const seeds = await loadSeeds(HAS_CORPUS ? CORPUS : undefined)
    for (const i of [0, 7, 123, 4567]) {
      const a = makeCase(SEED, i, seeds)
      const b = makeCase(SEED, i, seeds)
      assert.equal(a.target.id, b.target.id)
      assert.deepEqual(a.mutations, b.mutations)
      assert.deepEqual(Object.keys(a.files), Object.keys(b.files))
      for (const k of Object.keys(a.files)) assert.ok(a.files[k]!.equals(b.files[k]!), `case ${i} ${k}`)
    }
    assert.notDeepEqual(makeCase(SEED, 1, seeds).files, makeCase(SEED + 1, 1, seeds).files)
  })

  test('the contract check rejects stack traces, internal errors, chatter and undocumented codes', () => {
    assert.equal(contractBreach(0, ''), undefined)
    assert.equal(contractBreach(4, 'meshprof: malformed pprof input: x.pb: truncated\n'), undefined)
    assert.equal(contractBreach(4, 'meshprof: x: unrecognized profile format\n  hint: use --format\n'), undefined)
    assert.match(contractBreach(70, 'meshprof: internal error: boom (set MESHPROF_DEBUG=1 for details)\n')!, /exit code 70/)
    assert.match(contractBreach(4, 'meshprof: a\nmeshprof: b\n')!, /2 stderr lines/)
    assert.match(contractBreach(4, '')!, /nothing on stderr/)
    assert.match(contractBreach(1, 'TypeError: x\n    at f (/a.js:1:2)\n')!, /exit code 1/)
    assert.match(contractBreach(4, 'meshprof: x\n    at f (/a.js:1:2)\n')!, /stack trace/)
    assert.match(contractBreach(0, '(node:1) Warning: something\n')!, /not from meshprof/)
    assert.match(contractBreach(null, '', 'SIGKILL')!, /SIGKILL/)
  })
})
