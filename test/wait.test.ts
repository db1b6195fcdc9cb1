// within(): a bounded wait must not keep the process alive after the awaited promise wins. The
// capture command exited seconds after its window because of such a timer (src/util/wait.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from './helpers/cli.js'
import { within } from '../src/util/wait.js'

test('within: the value when the promise wins, undefined when the bound does', async () => {
  assert.equal(await within(Promise.resolve(7), 10_000), 7)
  assert.equal(await within(new Promise<number>(() => {}), 20), undefined)
  await assert.rejects(within(Promise.reject(new Error('boom')), 10_000), /boom/)
})

test('within: a process whose promise won exits at once, not when the bound would have ended', () => {
  const wait = pathToFileURL(join(ROOT, 'dist', 'src', 'util', 'wait.js')).href
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const { within } = await import(${JSON.stringify(wait)}); console.log(await within(Promise.resolve('won'), 8000))`], { encoding: 'utf8', timeout: 20_000 })
  const ms = Date.now() - t0
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'won')
  // Node's start-up is well under a second; the bound was 8 s.
  assert.ok(ms < 4000, `exited after ${ms} ms`)
})
