// Real processes for tests: the fixture mesh (fixtures/mesh/mesh.js), waits on conditions (never a
// fixed sleep), CPU ticks from /proc. Processes are started by the caller and killed by pid.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, runCli } from './cli.js'

export const MESH = join(ROOT, 'fixtures', 'mesh', 'mesh.js')

/** Calls onMsg with every JSON line the process prints on stdout (other lines are skipped). */
function onJsonLines(proc: ChildProcess, onMsg: (msg: any) => void): void {
  let buf = ''
  proc.stdout!.on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      let msg: any
      try { msg = JSON.parse(line) } catch { continue }
      onMsg(msg)
    }
  })
}

export interface Mesh {
  pids: number[]
  proc: ChildProcess
  stats: Map<number, any>
  stop(): Promise<void>
}

/** Start the mesh; resolves when every node listens and knows its peers (the {"mesh":...} line). */
export function startMesh(mode: string, nodes: number): Promise<Mesh> {
  return new Promise((resolve, reject) => {
    // --inspect-port=0: each node's inspector opens on a port of its own when capture signals it, so
    // this test never competes for 9229 with other tests running at the same time
    const proc = spawn(process.execPath, [MESH, '--nodes', String(nodes), '--mode', mode, '--fanout', String(nodes - 1), '--quiet', '--stdin-exit', '--node-arg=--inspect-port=0'], { stdio: ['pipe', 'pipe', 'pipe'] })
    const stats = new Map<number, any>()
    let err = ''
    let started = false
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`mesh ${mode} did not come up in 30 s: ${err}`)) }, 30000)
    proc.stderr!.on('data', (d) => { err += d })
    onJsonLines(proc, (msg) => {
      if (msg.stat) stats.set(msg.stat.index, msg.stat)
      if (msg.mesh && !started) {
        started = true
        clearTimeout(timer)
        const exited = new Promise<void>((r) => proc.once('exit', () => r()))
        resolve({
          pids: msg.mesh.pids,
          proc,
          stats,
          async stop() {
            if (proc.exitCode === null && proc.signalCode === null) {
              proc.stdin!.end()
              proc.kill('SIGTERM')
            }
            await exited
            // the nodes exit with their parent; make sure (by pid) none is left
            for (const pid of msg.mesh.pids) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
          },
        })
      }
    })
    proc.on('exit', (code) => { if (!started) { clearTimeout(timer); reject(new Error(`mesh ${mode} exited (${code}): ${err}`)) } })
  })
}

/** Wait for a condition on the mesh's stat lines (never a fixed sleep). */
export async function until(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export async function capture(work: string, pids: number[], dur: string, name: string, extra: string[] = []): Promise<string> {
  const out = join(work, name)
  const c = await runCli(['capture', ...pids.map(String), '-d', dur, '-o', out, ...extra], { timeoutMs: 60000 })
  assert.equal(c.code, 0, `capture failed: ${c.stderr}`)
  return out
}

/** CPU ticks (utime + stime) of a pid from /proc/<pid>/stat. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(f[11]) + Number(f[12])
}

/** Resolve once `pid` used >= 80% of a core over a 300 ms interval; give up after 15 s. */
export async function waitSpinning(pid: number): Promise<void> {
  const deadline = Date.now() + 15000
  while (Date.now() < deadline) {
    const t0 = cpuTicks(pid), w0 = Date.now()
    await new Promise((r) => setTimeout(r, 300))
    const cores = ((cpuTicks(pid) - t0) * 10) / (Date.now() - w0)
    if (cores >= 0.8) return
  }
  throw new Error(`pid ${pid} never reached 0.8 cores`)
}


/** true when gcc and perf can run here, else why not (a skip message). */
export function perfReady(): true | string {
  if (spawnSync('gcc', ['--version']).status !== 0) return 'gcc not found'
  if (spawnSync('perf', ['--version']).status !== 0) return 'perf not found'
  try {
    if (Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8')) > 2) return 'perf_event_paranoid > 2'
  } catch { /* not linux */ }
  return true
}

/** Spawn a process that prints one JSON line with `key` (e.g. {"ready":{...}}); resolves with that object. */
export function spawnReady(cmd: string, args: string[], key: string, ms = 15000): Promise<{ proc: ChildProcess; info: any; lines: any[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const lines: any[] = []
    let err = ''
    let done = false
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${args.join(' ')}: no "${key}" line in ${ms} ms: ${err}`)) }, ms)
    proc.stderr!.on('data', (d) => { err += d })
    onJsonLines(proc, (msg) => {
      lines.push(msg)
      if (msg[key] && !done) { done = true; clearTimeout(timer); resolve({ proc, info: msg[key], lines }) }
    })
    proc.on('exit', (code) => { if (!done) { clearTimeout(timer); reject(new Error(`${args.join(' ')} exited (${code}): ${err}`)) } })
  })
}
