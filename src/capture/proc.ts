// Linux /proc readers: process identity (exe, cmdline, uid), CPU time, socket inodes and the TCP
// tables, so capture can (1) check a pid is a Node process before sending it anything, (2) find
// inspector / agent sockets and (3) sample established connections of native targets.
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { CaptureError, EXIT } from '../util/errors.js'

export interface ProcessInfo {
  pid: number
  /** Resolved /proc/<pid>/exe ('' when unreadable). */
  exe: string
  /** argv as the kernel reports it (a process.title change rewrites it). */
  argv: string[]
  /** argv joined with spaces, trailing padding removed. */
  command: string
  /** /proc/<pid>/comm */
  comm: string
  uid: number
  /** Start time in clock ticks since boot (field 22 of stat): detects pid reuse. */
  startTicks: number
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ is 100 on every Linux architecture meshprof runs on). */
export const CLK_TCK = 100

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code
}

export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return errno(e) === 'EPERM'
  }
}

/** Identity of a pid; throws CaptureError with a clear sentence when it does not exist or is not ours. */
export function readProcess(pid: number): ProcessInfo {
  if (!Number.isInteger(pid) || pid <= 0) throw new CaptureError(`'${pid}' is not a process id`, EXIT.USAGE)
  let stat: string
  let status: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch (e) {
    if (errno(e) === 'ENOENT' || errno(e) === 'ESRCH') throw new CaptureError(`no process with pid ${pid}`)
    throw new CaptureError(`pid ${pid}: cannot read /proc/${pid}: ${(e as Error).message}`)
  }
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1)
  const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const startTicks = Number(afterComm[19] ?? 0)
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
  let argv: string[] = []
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    while (argv.length && argv[argv.length - 1] === '') argv.pop()
  } catch {
    argv = []
  }
  let exe = ''
  try {
    exe = readlinkSync(`/proc/${pid}/exe`)
  } catch (e) {
    if (errno(e) === 'EACCES' || errno(e) === 'EPERM') throw permissionError(pid, uid)
    if (errno(e) === 'ENOENT' && !pidExists(pid)) throw new CaptureError(`no process with pid ${pid}`)
    // kernel threads and zombies have no exe
  }
  const command = argv.join(' ').replace(/\s+$/, '')
  return { pid, exe, argv, command, comm, uid, startTicks }
}

export function permissionError(pid: number, uid: number): CaptureError {
  const me = process.getuid?.() ?? -1
  if (me === uid) {
    return new CaptureError(
      `permission denied: pid ${pid} cannot be inspected even by its own user ${userName(me)} (another container or user namespace, or ptrace restrictions such as kernel.yama.ptrace_scope)`,
      EXIT.TARGET,
      'run meshprof inside the target\'s container, or with CAP_SYS_PTRACE',
    )
  }
  const owner = uid >= 0 ? userName(uid) : 'another user'
  return new CaptureError(
    `permission denied: pid ${pid} belongs to ${owner}${me >= 0 ? ` and meshprof runs as ${userName(me)}` : ''}`,
    EXIT.TARGET,
    `run meshprof as the same user as the target (e.g. sudo -u ${owner} meshprof capture ${pid}) or as root`,
  )
}

let passwd: Map<number, string> | undefined
export function userName(uid: number): string {
  if (!passwd) {
    passwd = new Map()
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const f = line.split(':')
        if (f.length > 2) passwd.set(Number(f[2]), f[0]!)
      }
    } catch {
      // no passwd
    }
  }
  return passwd.get(uid) ?? `uid ${uid}`
}

/** A Node.js executable: node, nodejs, node20, node-v20.1.0 ... (not bun, deno, electron). */
export function isNodeExecutable(exe: string): boolean {
  const base = exe.replace(/ \(deleted\)$/, '').split('/').pop() ?? ''
  return /^(node|nodejs)([-_.]?v?\d[\d.]*)?$/.test(base)
}

/** utime + stime of a /proc stat line (process or thread), ns. */
function statCpuNs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * (1e9 / CLK_TCK)
}

/** Per thread (tid): its name (comm) and user + system CPU time, ns; empty when the process is gone. */
export function threadCpuTimes(pid: number): Map<number, { name: string; cpuNs: number }> {
  const out = new Map<number, { name: string; cpuNs: number }>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const t of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')
      out.set(Number(t), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuNs: statCpuNs(stat) })
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out
}

/** CPU each thread used between two threadCpuTimes snapshots (threads started in between count from 0). */
export function threadCpuDelta(before: ReadonlyMap<number, { name: string; cpuNs: number }>, after: ReadonlyMap<number, { name: string; cpuNs: number }>): { tid: number; name: string; cpuNs: number }[] {
  return [...after.entries()].map(([tid, a]) => ({ tid, name: a.name, cpuNs: Math.max(0, a.cpuNs - (before.get(tid)?.cpuNs ?? 0)) })).sort((x, y) => x.tid - y.tid)
}

/** User + system CPU time of the whole process, ns; undefined when it is gone. */
export function cpuTimeNs(pid: number): number | undefined {
  try {
    return statCpuNs(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/** Start ticks of a pid, or undefined when it no longer exists (or was reused since `startTicks`). */
export function stillSameProcess(pid: number, startTicks: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (f[0] === 'Z' || f[0] === 'X') return false
    return Number(f[19]) === startTicks
  } catch {
    return false
  }
}

/**
 * The kernel's state letter of a pid (R running, S sleeping, T stopped by a signal, t stopped by a
 * tracer, Z zombie ...), undefined when it is gone.
 */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

/** Stopped (SIGSTOP, a tracer): it can run nothing, and a signal sent now acts when it resumes. */
export function isStopped(pid: number): boolean {
  const s = processState(pid)
  return s === 'T' || s === 't'
}

export function readEnviron(pid: number): Record<string, string> {
  const env: Record<string, string> = {}
  try {
    for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = kv.indexOf('=')
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1)
    }
  } catch {
    // not readable: fine
  }
  return env
}

/** Socket inodes of the pid's open file descriptors. */
export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>()
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch (e) {
    if (errno(e) === 'EACCES' || errno(e) === 'EPERM') throw permissionError(pid, ownerUid(pid))
    return out
  }
  for (const fd of fds) {
    try {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`)
      if (l.startsWith('socket:[')) out.add(l.slice(8, -1))
    } catch {
      // fd closed meanwhile
    }
  }
  return out
}

function ownerUid(pid: number): number {
  try {
    return statSync(`/proc/${pid}`).uid
  } catch {
    return -1
  }
}

export interface TcpEntry {
  localAddr: string
  localPort: number
  remoteAddr: string
  remotePort: number
  /** Kernel state code: '01' ESTABLISHED, '0A' LISTEN ... */
  state: string
  inode: string
}

function hexIp4(h: string): string {
  const n = parseInt(h, 16)
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${(n >>> 24) & 255}`
}

function hexIp6(h: string): string {
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: number[] = []
  for (let w = 0; w < 4; w++) {
    const word = h.slice(w * 8, w * 8 + 8)
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16))
  }
  // v4-mapped ::ffff:a.b.c.d
  if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join('.')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  const s = groups.join(':')
  // compress the longest zero run (simple form)
  return s.replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:::+/, '::')
}

export function parseTcpTable(text: string, v6: boolean): TcpEntry[] {
  const out: TcpEntry[] = []
  const lines = text.split('\n')
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/)
    if (f.length < 10) continue
    const [la, lp] = f[1]!.split(':')
    const [ra, rp] = f[2]!.split(':')
    out.push({
      localAddr: v6 ? hexIp6(la!) : hexIp4(la!),
      localPort: parseInt(lp!, 16),
      remoteAddr: v6 ? hexIp6(ra!) : hexIp4(ra!),
      remotePort: parseInt(rp!, 16),
      state: f[3]!,
      inode: f[9]!,
    })
  }
  return out
}

function readTables(pid: number | 'self'): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = []
  for (const [file, v6] of [['tcp', false], ['tcp6', true]] as const) {
    try {
      out.push([readFileSync(`/proc/${pid}/net/${file}`, 'latin1'), v6])
    } catch {
      // no v6, or gone
    }
  }
  return out
}

/** TCP sockets of the network namespace the pid lives in (v4 + v6). */
export function tcpTable(pid: number | 'self'): TcpEntry[] {
  const out: TcpEntry[] = []
  for (const [text, v6] of readTables(pid)) out.push(...parseTcpTable(text, v6))
  return out
}

/** One row: sl, local, remote, state, ... inode (field 10). Matching whole rows with one regex is far faster than splitting each. */
const ROW_RE = /^\s*\d+: ([0-9A-F]+):([0-9A-F]+) ([0-9A-F]+):([0-9A-F]+) ([0-9A-F]{2}) \S+ \S+ \S+\s+\d+\s+\d+ (\d+)/gm

/** Only the table rows of these socket inodes (a busy host has tens of thousands of TIME_WAIT rows). */
export function tcpEntriesOf(pid: number | 'self', inodes: ReadonlySet<string>): TcpEntry[] {
  const out: TcpEntry[] = []
  if (inodes.size === 0) return out
  for (const [text, v6] of readTables(pid)) {
    for (const m of text.matchAll(ROW_RE)) {
      const inode = m[6]!
      if (inode === '0' || !inodes.has(inode)) continue
      out.push({
        localAddr: v6 ? hexIp6(m[1]!) : hexIp4(m[1]!),
        localPort: parseInt(m[2]!, 16),
        remoteAddr: v6 ? hexIp6(m[3]!) : hexIp4(m[3]!),
        remotePort: parseInt(m[4]!, 16),
        state: m[5]!,
        inode,
      })
    }
  }
  return out
}

export function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
}

export interface SocketView {
  listening: TcpEntry[]
  /** Outbound established sockets (local port is not one of the pid's listening ports). */
  outbound: TcpEntry[]
  /** Every established socket of the pid. */
  established: TcpEntry[]
}

/** The pid's own TCP sockets: its fd socket inodes matched against /proc/<pid>/net/tcp{,6}. */
export function socketsOf(pid: number): SocketView {
  const mine = tcpEntriesOf(pid, socketInodes(pid))
  const listening = mine.filter((e) => e.state === '0A')
  const listenPorts = new Set(listening.map((e) => e.localPort))
  const established = mine.filter((e) => e.state === '01')
  const outbound = established.filter((e) => !listenPorts.has(e.localPort))
  return { listening, outbound, established }
}

export function listeningPorts(pid: number): Set<number> {
  return new Set(socketsOf(pid).listening.map((e) => e.localPort))
}

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '0.0.0.0', '::', '::1', '0:0:0:0:0:0:0:0'])

/** Is anything in our network namespace listening on this TCP port (loopback or wildcard)? */
export function portListening(port: number): TcpEntry | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const re = new RegExp(`^\\s*\\d+: [0-9A-F]+:${hex} [0-9A-F]+:0000 0A .*$`, 'gm')
  for (const [text, v6] of readTables('self')) {
    for (const m of text.matchAll(re)) {
      const e = parseTcpTable('header\n' + m[0], v6)[0]
      if (e && e.state === '0A' && e.localPort === port && LOOPBACK_OR_ANY.has(e.localAddr)) return e
    }
  }
  return undefined
}

/** Which pid holds a socket inode (scans /proc/* /fd; only pids we may read). */
export function pidOfInode(inode: string): number | undefined {
  let dirs: string[]
  try {
    dirs = readdirSync('/proc')
  } catch {
    return undefined
  }
  const target = `socket:[${inode}]`
  for (const d of dirs) {
    if (!/^\d+$/.test(d)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${d}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${d}/fd/${fd}`) === target) return Number(d)
      } catch {
        // raced
      }
    }
  }
  return undefined
}

/** Unix socket paths the pid has open (from /proc/net/unix matched with its fd inodes). */
export function unixSocketPaths(pid: number): string[] {
  const inodes = socketInodes(pid)
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/net/unix`, 'utf8')
  } catch {
    return []
  }
  const out: string[] = []
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length >= 8 && inodes.has(f[6]!)) out.push(f.slice(7).join(' '))
  }
  return out
}

/** pids whose command line (or comm) matches the regex, excluding meshprof itself and its parent. */
export function pgrep(re: RegExp): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const pid = Number(d)
    if (pid === process.pid || pid === process.ppid) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim()
      if (!cmd) continue // kernel thread
      if (re.test(cmd)) out.push(pid)
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a - b)
}
