// The same script captured through the agent (`meshprof run`, @datadog/pprof) and through the
// inspector (`capture --via inspector`): its JavaScript frames come out in one form, so `diff`
// matches them across back-ends. Before, the agent's `(anonymous:L#2:C#13)` in /path and the
// inspector's `(anonymous)` in file:///path:2 were different functions ("gone" + "appeared").
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { filesIn, killAll, meshprof, script, start, tmp, waitFor, withPort9229 } from './helpers.js'
import { loadProfile } from '../../src/formats/index.js'
import type { Profile } from '../../src/model/types.js'

after(killAll)

// Line 1: a named function; line 2: two anonymous arrow functions (columns 13 and 30).
const APP = [
  'const work = function work() { let x = 0; for (let i = 0; i < 3e6; i++) x += Math.sqrt(i); return x }',
  "setInterval(() => { work(); (() => { let y = 0; for (let i = 0; i < 2e6; i++) y += i % 7; return y })() }, 5)",
  "console.log('ready', process.pid)",
].join('\n') + '\n'

describe('one frame form across the agent and the inspector', () => {
  const dir = tmp('backends')
  const app = script(dir, 'app.js', APP)
  const agentDir = join(dir, 'agent')
  const inspectorDir = join(dir, 'inspector')
  let viaAgent: Profile
  let viaInspector: Profile

  before(async () => {
    const r = await meshprof(['run', '-d', '2s', '--stop', '-o', agentDir, '--', process.execPath, app], { timeoutMs: 60000 })
    assert.equal(r.code, 0, r.stderr)
    const p = start(process.execPath, [app])
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const c = await withPort9229(() => meshprof(['capture', String(p.pid), '--via', 'inspector', '-d', '2s', '-o', inspectorDir]))
      assert.equal(c.code, 0, c.stderr)
    } finally {
      await p.kill()
    }
    const capture = (d: string) => join(d, filesIn(d).find((f) => f.endsWith('.capture.json'))!)
    viaAgent = await loadProfile(capture(agentDir))
    viaInspector = await loadProfile(capture(inspectorDir))
    assert.equal(viaAgent.meta.backend, 'agent')
    assert.equal(viaInspector.meta.backend, 'inspector')
  })

  test('the script\'s frames have the same name, file (a path), line and column from both back-ends', () => {
    const ofApp = (p: Profile) => p.frames.filter((f) => f.file?.endsWith('app.js')).map((f) => `${f.name} ${f.file}:${f.line}:${f.col ?? ''}`).sort()
    const agent = ofApp(viaAgent)
    const inspector = ofApp(viaInspector)
    for (const frames of [agent, inspector]) {
      assert.ok(frames.includes(`(anonymous) ${app}:2:13`), frames.join(', '))
      assert.ok(frames.includes(`(anonymous) ${app}:2:30`), frames.join(', '))
      assert.ok(frames.some((f) => f.startsWith(`work ${app}:1:`)), frames.join(', '))
    }
    for (const p of [viaAgent, viaInspector]) {
      assert.deepEqual(p.frames.filter((f) => /^\(anonymous:L#/.test(f.name) || f.file?.startsWith('file:')).map((f) => f.name), [], 'no back-end specific form is left')
    }
  })

  test('diff matches them: the script\'s functions are neither "gone" nor "appeared"', async () => {
    const r = await meshprof(['diff', agentDir, inspectorDir, '--json', '--limit', '0', '--no-findings'])
    assert.equal(r.code, 0, r.stderr)
    const rows = (JSON.parse(r.stdout).rows as { name: string; file?: string; line?: number; status: string; before: { totalShare: number }; after: { totalShare: number } }[])
      .filter((x) => x.file === app)
    const anon = rows.find((x) => x.name === '(anonymous)' && x.line === 2)
    const work = rows.find((x) => x.name === 'work' && x.line === 1)
    assert.ok(anon && work, JSON.stringify(rows))
    for (const row of [anon, work]) {
      assert.ok(row.status !== 'gone' && row.status !== 'appeared', `${row.name}: ${row.status}`)
      assert.ok(row.before.totalShare > 0 && row.after.totalShare > 0)
    }
    // (The module's own top-level code, `(anonymous)` at line 1, runs only at start-up: inside the window
    // of `run`, long before the inspector attaches; "gone" is right for it.)
    assert.deepEqual(rows.filter((x) => (x.status === 'gone' || x.status === 'appeared') && x.line !== 1).map((x) => `${x.name}:${x.line}`), [])
  })
})
