// One CPU basis on an overloaded host (issue 9): a connect-storm mesh with more nodes than this
// machine has cores, captured together. For every node: every "cores" figure (findings, top rows)
// is at most the process CPU the capture measured, and the process's cores read the same in the
// analyze header, top, the flamegraph header and diff.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../helpers/cli.js'
import { MESH, capture, startMesh } from '../helpers/mesh.js'
import { formatCores } from '../../src/render/units.js'
import { loadProfiles } from '../../src/formats/index.js'

const work = mkdtempSync(join(tmpdir(), 'meshprof-basis-'))
const SKIP = existsSync(MESH) ? false : 'fixtures/mesh/mesh.js missing'

/** The payload the flamegraph page draws from, read back out of the HTML file. */
function payloadOf(html: string): any {
  const m = /<script type="application\/json" id="meshprof-data">([\s\S]*?)<\/script>/.exec(html)
  assert.ok(m, 'no payload in the page')
  return JSON.parse(m[1]!)
}

test('overloaded host (storm mesh, more nodes than cores): cores never exceed the measured CPU; header = top = analyze = flamegraph = diff', { skip: SKIP }, async () => {
  const nodes = Math.max(6, cpus().length + 2)
  const mesh = await startMesh('connect-storm', nodes)
  try {
    const dir = await capture(work, mesh.pids, '3s', 'storm')
    const a = await runCli(['analyze', dir, '--json'], { timeoutMs: 60000 })
    assert.equal(a.code, 0, a.stderr)
    const r = JSON.parse(a.stdout)
    const text = (await runCli(['analyze', dir], { timeoutMs: 60000 })).stdout
    const d = await runCli(['diff', dir, dir, '--json'], { timeoutMs: 60000 })
    assert.equal(d.code, 0, d.stderr)
    const diffNodes = JSON.parse(d.stdout).nodes
    const files = readdirSync(dir).filter((f) => f.endsWith('.capture.json')).sort()
    assert.equal(files.length, nodes)
    let storms = 0
    for (const file of files) {
      const raw = JSON.parse(readFileSync(join(dir, file), 'utf8'))
      // the capture's measurement as the model carries it: CPU time over the profile's window
      const [prof] = (await loadProfiles(join(dir, file))).profiles
      assert.equal(prof!.meta.cpuTimeNs, raw.process.cpuTimeNs)
      const measured = prof!.meta.cpuTimeNs! / prof!.meta.durationNs!
      const p = r.profiles.find((x: any) => x.input.endsWith(file))
      assert.ok(p, `${file} not in the report`)
      // analyze: the profile's cores are the measured CPU, and no finding claims more
      assert.ok(Math.abs(p.cores - measured) < 0.0011, `${file}: analyze ${p.cores} vs measured ${measured}`)
      for (const f of r.findings.filter((x: any) => x.profile === p.index && x.cpuCores !== undefined)) {
        assert.ok(f.cpuCores <= measured + 0.001, `${file}: ${f.ruleId} claims ${f.cpuCores} cores of a process that used ${measured}`)
        if (f.ruleId === 'connect-storm') storms++
      }
      const shown = formatCores(measured)
      assert.match(text, new RegExp(`${file.replace(/[.]/g, '\\.')} .*: [\\d.]+ s, ${shown.replace('.', '\\.')} cores busy \\(measured\\)`))
      // diff: the node's cores on each side
      const dn = diffNodes.find((n: any) => n.name === raw.process.name)
      assert.ok(dn && Math.abs(dn.before.cores - measured) < 1e-9, `${file}: diff ${dn?.before?.cores} vs ${measured}`)
      // top and the flamegraph: one CLI run each per file, so two nodes (the first and the last) keep
      // the test short; analyze and diff above cover every node
      if (file !== files[0] && file !== files[files.length - 1]) continue
      // top: the same process CPU, and no row worth more than the whole
      const t = await runCli(['top', join(dir, file), '--json', '--sort', 'total', '--limit', '0'])
      const tj = JSON.parse(t.stdout)
      assert.ok(Math.abs(tj.basis.cores - measured) < 1e-9, `${file}: top ${tj.basis.cores} vs ${measured}`)
      assert.ok(tj.rows.every((row: any) => row.totalCores <= measured + 1e-9), `${file}: a top row exceeds the process CPU`)
      const tt = await runCli(['top', join(dir, file), '--limit', '3'])
      assert.match(tt.stdout, new RegExp(`process CPU ${shown.replace('.', '\\.')} cores \\(measured`))
      // flamegraph header: the same figure, from the same basis
      const html = join(work, `${file}.html`)
      const fg = await runCli(['flamegraph', join(dir, file), '-o', html])
      assert.equal(fg.code, 0, fg.stderr)
      const payload = payloadOf(readFileSync(html, 'utf8'))
      assert.equal(payload.meta.coresFrom, 'measured')
      assert.ok(Math.abs(payload.meta.cores - measured) < 1e-9, `${file}: flamegraph ${payload.meta.cores} vs ${measured}`)
      process.stderr.write(`${file}: ${shown} cores measured; wall-clock samples ${tj.total.toFixed(0)} of which on-CPU ${tj.busy.toFixed(0)}\n`)
    }
    assert.ok(storms >= nodes - 1, `connect-storm on only ${storms} of ${nodes} nodes`)
  } finally {
    await mesh.stop()
  }
})

test.after(() => rmSync(work, { recursive: true, force: true }))
