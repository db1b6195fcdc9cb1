// Agent back-end (`node --require meshprof/agent`) and `meshprof run`.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { statSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { alive, filesIn, killAll, meshprof, readJson, startMesh, tmp, waitFor, MESH, PRELOAD, type Mesh } from './helpers.js'

after(killAll)

function agentSocket(pid: number, base: string): string | undefined {
  for (const d of readdirSync(base)) {
    if (!/^meshprof-agent-\d+$/.test(d)) continue
    const p = join(base, d, `agent-${pid}.sock`)
    try {
      statSync(p)
      return p
    } catch {
      // not this one
    }
  }
  return undefined
}

describe('a mesh started with the agent preloaded', () => {
  let mesh: Mesh
  let out: string
  let r: Awaited<ReturnType<typeof meshprof>>
  const base = tmp('agentrt')

  before(async () => {
    // XDG_RUNTIME_DIR: a private base for this test's agent sockets
    mesh = await startMesh(2, 'connect-storm', [`--node-arg=--require=${PRELOAD}`, '--title-prefix', `mpa${process.pid}-`], { XDG_RUNTIME_DIR: base })
    await waitFor(() => agentSocket(mesh.pids[0]!, base), 10000, 'the agent socket')
    out = join(tmp('agent'), 'cap')
    r = await meshprof(['capture', String(mesh.pids[0]), '-d', '2s', '-o', out])
  })
  after(async () => { await mesh?.stop() })

  test('the agent socket is private: 0600 in a 0700 directory', () => {
    const sock = agentSocket(mesh.pids[0]!, base)!
    assert.equal(statSync(sock).mode & 0o777, 0o600)
    assert.equal(statSync(join(sock, '..')).mode & 0o777, 0o700)
    assert.ok(statSync(sock).isSocket())
  })

  test('capture picks the agent and gets a pprof plus network evidence', () => {
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /via agent/)
    const pid = mesh.pids[0]!
    const files = filesIn(out)
    assert.ok(files.includes(`node-${pid}.pb.gz`), files.join(' '))
    const cap = readJson(join(out, files.find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.process.backend, 'agent')
    assert.deepEqual(cap.profile, { format: 'pprof', file: `node-${pid}.pb.gz` })
    assert.ok(cap.process.cpuTimeNs > 0)
    const stacks: string[][] = cap.network.stacks
    const cs = cap.network.connects
    assert.ok(cs.length >= 5, `${cs.length} connects`)
    assert.ok(cs.every((c: any) => c.tls))
    assert.match(stacks[cs[0].initiator]!.join(' > '), /runGossip.*joinPeers/)
  })

  test('the process keeps running with its agent ready for the next capture', async () => {
    assert.ok(alive(mesh.pids[0]!))
    assert.ok(agentSocket(mesh.pids[0]!, base))
    const t = await meshprof(['top', join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!), '--json'])
    assert.equal(t.code, 0, t.stderr)
    assert.equal(JSON.parse(t.stdout).valueType, 'cpu')
  })
})

describe('meshprof run', () => {
  test('-d 2s --stop -- node mesh.js: every Node process of the command is captured, then the command is stopped', async () => {
    const out = join(tmp('run'), 'cap')
    const r = await meshprof(['run', '-d', '2s', '--stop', '-o', out, '--json', '--', process.execPath, MESH, '--nodes', '2', '--mode', 'connect-storm', '--quiet', '--title-prefix', `mpr${process.pid}-`], { timeoutMs: 60000 })
    assert.equal(r.code, 0, r.stderr)
    const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{\n')))
    assert.equal(j.meshprof, 'run')
    assert.equal(j.captures.length, 3, 'mesh.js and its two nodes')
    const names = j.captures.map((c: any) => c.name).sort()
    assert.deepEqual(names.filter((n: string) => n.startsWith('mpr')), [`mpr${process.pid}-0`, `mpr${process.pid}-1`])
    const mf = readJson(join(out, 'mesh.json'))
    assert.equal(mf.captures.length, 3)
    for (const c of j.captures) {
      assert.equal(c.ok, true)
      assert.equal(c.backend, 'agent')
      assert.ok(!alive(c.pid), `pid ${c.pid} was stopped`)
    }
    const node0 = j.captures.find((c: any) => c.name === `mpr${process.pid}-0`)
    assert.ok(node0.connects > 3)
  })

  test('a command that exits by itself hands over its profile on exit', async () => {
    const dir = tmp('runexit')
    const r = await meshprof(['run', '-o', join(dir, 'cap'), '--', process.execPath, '-e', 'const t = Date.now(); function spin() { while (Date.now() - t < 800) Math.sqrt(Math.random()) } spin()'])
    assert.equal(r.code, 0, r.stderr)
    const files = filesIn(join(dir, 'cap'))
    const cap = readJson(join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.profile.format, 'pprof')
    assert.equal(cap.process.partial, false)
    assert.ok(cap.process.cpuTimeNs > 400e6, `cpu ${cap.process.cpuTimeNs}`)
    const t = await meshprof(['top', join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!), '--json'])
    assert.ok(JSON.parse(t.stdout).rows.some((x: any) => x.name === 'spin'), t.stdout.slice(0, 500))
  })

  test('a command that cannot be started: exit 2, one line', async () => {
    const r = await meshprof(['run', '-o', join(tmp('run404'), 'cap'), '--', '/nonexistent/cmd'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /cannot run \/nonexistent\/cmd: command not found/)
  })
})
