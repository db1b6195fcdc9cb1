// perf back-end: the native connect-storm target (built here with gcc) and --native beside a Node capture.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { alive, filesIn, gccPath, killAll, meshprof, perfUsable, readJson, script, start, tmp, waitFor, withPort9229, BUSY_JS, NATIVE_SRC, type Proc } from './helpers.js'

after(killAll)

const SKIP = !perfUsable() ? 'perf is not installed' : !gccPath() ? 'gcc is not installed' : false

describe('native target via perf', { skip: SKIP }, () => {
  let target: Proc
  let out: string
  let r: Awaited<ReturnType<typeof meshprof>>
  let listenPort = 0

  before(async () => {
    const dir = tmp('native')
    const bin = join(dir, 'connect-storm')
    const b = spawnSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', bin, NATIVE_SRC], { encoding: 'utf8' })
    assert.equal(b.status, 0, b.stderr)
    target = start(bin, ['5', '60'])
    const line = await waitFor(() => /READY (\d+) (\d+)/.exec(target.stdout()), 10000, 'native target')
    listenPort = Number(line[2])
    out = join(dir, 'cap')
    r = await meshprof(['capture', String(target.pid), '-d', '2s', '-o', out, '--rate', '199'])
  })
  after(async () => { await target?.kill() })

  test('auto-selects perf for a non-Node process and writes perf script text first', () => {
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /via perf/)
    const files = filesIn(out)
    assert.ok(files.includes(`native-${target.pid}.perf.txt`), files.join(' '))
    assert.ok(!files.some((f) => f.endsWith('.perf.data')), 'the perf.data is removed after perf script')
    const text = readFileSync(join(out, `native-${target.pid}.perf.txt`), 'utf8')
    assert.match(text, /do_handshake/)
    assert.match(text, /connect_peer[\s\S]*join_peers[\s\S]*run_gossip/)
    const cap = readJson(join(out, files.find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.process.backend, 'perf')
    assert.equal(cap.process.rateHz, 199)
    assert.deepEqual(cap.profile, { format: 'perf-script', file: `native-${target.pid}.perf.txt` })
    assert.ok(cap.process.cpuTimeNs > 0)
    assert.ok(alive(target.pid), 'the target keeps running')
  })

  test('/proc network evidence counts new connections to already-connected peers', () => {
    const cap = readJson(join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!))
    assert.equal(cap.network.source, 'proc-net')
    const cs = cap.network.connects
    assert.ok(cs.length >= 5, `${cs.length} connects seen`)
    for (const c of cs) assert.equal(c.remote, `127.0.0.1:${listenPort}`)
    assert.ok(cs.filter((c: any) => c.alreadyConnected).length >= 0.8 * cs.length)
    assert.ok(cap.network.snapshots.length >= 2)
    // the listener's accepted side (local port = the listening port) is not an outgoing connection
    for (const s of cap.network.snapshots) for (const x of s.remotes) assert.equal(x, `127.0.0.1:${listenPort}`)
  })

  test('top on the capture names do_handshake as the hottest frame', async () => {
    const t = await meshprof(['top', join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!), '--json'])
    assert.equal(t.code, 0, t.stderr)
    const j = JSON.parse(t.stdout)
    assert.equal(j.rows[0].name, 'do_handshake')
  })
})

describe('--native beside a Node capture', { skip: SKIP }, () => {
  test('writes node-<pid>.perf.txt next to the V8 profile', async () => {
    const dir = tmp('nodenative')
    const p = start(process.execPath, ['--perf-basic-prof', script(dir, 'busy.js', BUSY_JS)], { cwd: dir })
    try {
      await waitFor(() => p.stdout().includes('ready'), 10000, 'target')
      const r = await withPort9229(() => meshprof(['capture', String(p.pid), '--native', '-d', '1s', '-o', join(dir, 'cap')], { timeoutMs: 120000 }))
      assert.equal(r.code, 0, r.stderr)
      const files = filesIn(join(dir, 'cap'))
      const cap = readJson(join(dir, 'cap', files.find((f) => f.endsWith('.capture.json'))!))
      assert.equal(cap.process.backend, 'inspector')
      assert.deepEqual(cap.native, { format: 'perf-script', file: `node-${p.pid}.perf.txt` })
      const text = readFileSync(join(dir, 'cap', cap.native.file), 'utf8')
      assert.match(text, /cpu-clock/)
      assert.ok(files.includes(`node-${p.pid}.cpuprofile`))
    } finally {
      await p.kill()
    }
  })
})

describe('native threads via perf: one root per thread with --tid, thread names from comm', { skip: SKIP }, () => {
  test('two named threads spinning different functions: --tid roots them apart, --thread keeps one', async () => {
    const dir = tmp('native-threads')
    const src = script(dir, 'threads.c', `
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
volatile double sink;
__attribute__((noinline)) void hash_a(void) { double x = 0; for (int i = 0; i < 100000; i++) x += i * 0.5; sink = x; }
__attribute__((noinline)) void hash_b(void) { double x = 0; for (int i = 0; i < 100000; i++) x += i * 0.25; sink = x; }
void *run_a(void *p) { pthread_setname_np(pthread_self(), "hasher-a"); for (;;) hash_a(); return p; }
void *run_b(void *p) { pthread_setname_np(pthread_self(), "hasher-b"); for (;;) { hash_b(); usleep(1000); } return p; }
int main(void) { pthread_t a, b; pthread_create(&a, 0, run_a, 0); pthread_create(&b, 0, run_b, 0); printf("READY\\n"); fflush(stdout); pthread_join(a, 0); return 0; }
`)
    const bin = join(dir, 'threads')
    const b = spawnSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-pthread', '-o', bin, src], { encoding: 'utf8' })
    assert.equal(b.status, 0, b.stderr)
    const t = start(bin, [])
    await waitFor(() => /READY/.test(t.stdout()), 10000, 'threads target')
    const out = join(dir, 'cap')
    const r = await meshprof(['capture', String(t.pid), '-d', '2s', '-o', out])
    assert.equal(r.code, 0, r.stderr)
    await t.kill()
    const capFile = join(out, filesIn(out).find((f) => f.endsWith('.capture.json'))!)
    const cap = readJson(capFile)
    // perf samples every thread: all profiled, the spinning one named from its comm
    assert.ok(cap.process.threads.some((x: any) => x.name === 'hasher-a' && x.profiled && x.cpuNs > 0), JSON.stringify(cap.process.threads))
    const top = async (...extra: string[]) => JSON.parse((await meshprof(['top', capFile, '--json', '-n', '0', ...extra])).stdout)
    // by default one root per thread name (comm), as stackcollapse-perf.pl
    const roots = (await top('--sort', 'total')).rows.filter((x: any) => x.kind === 'program').map((x: any) => x.name)
    assert.ok(roots.includes('hasher-a') && roots.includes('hasher-b'), roots.join(' '))
    // --tid: comm-pid/tid, and --thread keeps one thread's samples only
    const tids = (await top('--tid', '--sort', 'total')).rows.filter((x: any) => x.kind === 'program').map((x: any) => x.name)
    const a = tids.find((n: string) => n.startsWith(`hasher-a-${t.pid}/`))
    assert.ok(a && tids.some((n: string) => n.startsWith(`hasher-b-${t.pid}/`)), tids.join(' '))
    const onlyA = await top('--tid', '--thread', '^hasher-a-')
    const names = onlyA.rows.map((x: any) => x.name)
    assert.ok(names.includes('hash_a') && !names.includes('hash_b'), names.join(' '))
  })
})
