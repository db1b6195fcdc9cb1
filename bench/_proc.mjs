// Shared by the bench scripts: run a command, measure wall time, CPU time (user + system) and peak
// RSS of the child. CPU time and peak RSS come from GNU time (/usr/bin/time -f) when present; else
// RSS from polling the child's /proc/<pid>/status VmHWM (the kernel's high-water mark) and no CPU
// time. CPU time is reported next to wall time because it is far less disturbed by other load.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'

const GNU_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0 ? '/usr/bin/time' : undefined

/** Run `cmd args`; resolves { ms, rssMB, code, stdout, stderr }. stdout is kept (bounded) for checks. */
export function measure(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const marker = '@@MAXRSS_KB@@'
    const full = GNU_TIME ? [GNU_TIME, ['-f', `${marker}%M %U %S`, cmd, ...args]] : [cmd, args]
    const t0 = process.hrtime.bigint()
    const child = spawn(full[0], full[1], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) }, cwd: opts.cwd })
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => { if (out.length < 1 << 20) out += c })
    child.stderr.on('data', (c) => { err += c })
    let hwm = 0
    const poll = GNU_TIME ? undefined : setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) hwm = Math.max(hwm, Number(m[1]))
      } catch { /* exited */ }
    }, 10)
    child.on('error', reject)
    child.on('close', (code) => {
      if (poll) clearInterval(poll)
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      let rssKB = hwm
      let cpuMs
      if (GNU_TIME) {
        const i = err.lastIndexOf(marker)
        if (i >= 0) {
          const [m, u, sy] = err.slice(i + marker.length).trim().split('\n')[0].split(' ').map(Number)
          rssKB = m
          cpuMs = (u + sy) * 1000
          err = err.slice(0, i)
        }
      }
      resolve({ ms, cpuMs, rssMB: rssKB / 1024, code, stdout: out, stderr: err })
    })
  })
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
}

/** Best of n runs (by time); the RSS reported is that run's. */
export async function best(n, cmd, args, opts) {
  let b
  for (let i = 0; i < n; i++) {
    const r = await measure(cmd, args, opts)
    if (r.code !== 0) return r
    if (!b || r.ms < b.ms) b = r
  }
  return b
}

export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  return rows.map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')).join('\n')
}
