'use strict'
// meshprof agent: `node --require meshprof/agent app.js` (or `meshprof run -- node app.js`).
//
// Costs nothing until a capture starts: it only opens a unix socket that the owning user alone can
// reach (socket 0600 in a 0700 directory $XDG_RUNTIME_DIR/meshprof-agent-<uid>, else
// <tmpdir>/meshprof-agent-<uid>), named agent-<pid>.sock. `meshprof capture <pid>` finds it through
// /proc and connects; then the agent runs @datadog/pprof's CPU-time profiler (lower overhead than the
// inspector's) plus the same network probe as the inspector back-end, and returns a gzipped pprof.
//
// Under `meshprof run`, MESHPROF_AGENT_CONNECT / MESHPROF_AGENT_TOKEN tell it to connect to meshprof
// instead and start at once; child processes inherit them (through NODE_OPTIONS), so a whole mesh
// launched from one command is profiled.
//
// The agent never throws into the application: any failure disables it (MESHPROF_AGENT_DEBUG=1 says why).
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const createProbe = require('./probe.cjs')

const debug = process.env.MESHPROF_AGENT_DEBUG ? (m) => process.stderr.write(`meshprof agent (pid ${process.pid}): ${m}\n`) : () => {}

function pprofProfiler() {
  let pprof = null
  let started = false
  return {
    start(rateHz) {
      pprof = pprof || require('@datadog/pprof')
      pprof.time.start({
        intervalMicros: Math.max(100, Math.round(1e6 / rateHz)),
        durationMillis: 3600 * 1000,
        withContexts: true,
        collectCpuTime: true,
        lineNumbers: false,
      })
      started = true
    },
    stopSync() {
      if (!started) throw new Error('profiler not started')
      started = false
      const profile = pprof.time.stop()
      return { format: 'pprof', data: pprof.encodeSync(profile).toString('base64') }
    },
    abort() {
      if (!started) return
      started = false
      try { pprof.time.stop() } catch { /* ignore */ }
    },
  }
}

/** capture --heap on the agent path: @datadog/pprof's sampling heap profiler, walked like the inspector's. */
function pprofHeap() {
  let pprof = null
  let started = false
  return {
    start(intervalBytes) {
      pprof = pprof || require('@datadog/pprof')
      pprof.heap.start(intervalBytes, 64)
      started = true
    },
    walk(visit) {
      const stack = [[pprof.heap.v8Profile(), 0]]
      while (stack.length) {
        const [node, depth] = stack.pop()
        let bytes = 0
        let count = 0
        for (const a of node.allocations) {
          bytes += a.sizeBytes * a.count
          count += a.count
        }
        // V8 numbers allocation-profile lines from 1, the inspector from 0: send the inspector's
        if (depth > 0) visit([node.name, node.scriptName, (node.lineNumber || 0) - 1, (node.columnNumber || 0) - 1], depth, bytes, count)
        for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1])
      }
    },
    stop() {
      if (!started) return
      started = false
      try { pprof.heap.stop() } catch { /* ignore */ }
    },
  }
}

/** The private directory: created 0700, and refused when it is not ours or is open to others. */
function agentDir() {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  const bases = []
  if (process.env.XDG_RUNTIME_DIR) bases.push(process.env.XDG_RUNTIME_DIR)
  bases.push(os.tmpdir())
  for (const base of bases) {
    const dir = path.join(base, `meshprof-agent-${uid}`)
    try {
      fs.mkdirSync(dir, { mode: 0o700 })
    } catch (e) {
      if (e.code !== 'EEXIST') continue
    }
    try {
      const st = fs.lstatSync(dir)
      if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
        debug(`${dir} is not a private directory of uid ${uid}; not using it`)
        continue
      }
      return dir
    } catch {
      continue
    }
  }
  return null
}

function listen() {
  const dir = agentDir()
  if (!dir) return
  const sockPath = path.join(dir, `agent-${process.pid}.sock`)
  try { fs.unlinkSync(sockPath) } catch { /* none */ }
  const server = net.createServer((s) => {
    s.on('error', () => {})
    const r = createProbe({ token: null, backend: 'agent', agentProfiler: pprofProfiler(), agentHeap: pprofHeap(), armTimeoutMs: 30000 })
    if (!r.ok) {
      s.end(JSON.stringify({ k: 'error', message: r.error }) + '\n')
      return
    }
    r.probe.attach(s)
  })
  server.on('error', (e) => debug(`cannot listen on ${sockPath}: ${e.message}`))
  const old = process.umask(0o177)
  server.listen(sockPath, () => {
    process.umask(old)
    try { fs.chmodSync(sockPath, 0o600) } catch { /* ignore */ }
    debug(`listening on ${sockPath}`)
  })
  process.umask(old)
  server.unref()
  process.on('exit', () => {
    try { fs.unlinkSync(sockPath) } catch { /* gone */ }
  })
}

function runMode() {
  const r = createProbe({
    token: process.env.MESHPROF_AGENT_TOKEN || null,
    backend: 'agent',
    agentProfiler: pprofProfiler(), agentHeap: pprofHeap(),
    connectPath: process.env.MESHPROF_AGENT_CONNECT,
    armTimeoutMs: 10000,
    graceMs: 24 * 3600 * 1000,
    autoStart: {
      durationMs: Number(process.env.MESHPROF_AGENT_DURATION_MS) || 20 * 24 * 3600 * 1000,
      rateHz: Number(process.env.MESHPROF_AGENT_RATE_HZ) || 499,
      heap: process.env.MESHPROF_AGENT_HEAP === '1',
    },
  })
  if (!r.ok) debug(r.error)
}

// `--require` runs in every worker thread too. The agent belongs to the main thread: a worker
// sharing its pid would unlink the main thread's socket (and could not listen: workers cannot set
// the umask) or say hello to `meshprof run` as a second process with the same pid. Worker threads
// are not profiled on the agent path (their CPU is reported as unprofiled; the inspector back-end
// profiles them).
let isMainThread = true
try { isMainThread = require('worker_threads').isMainThread } catch { /* no worker_threads: main */ }
try {
  if (!isMainThread) debug('a worker thread: the agent runs in the main thread only')
  else if (process.env.MESHPROF_AGENT_CONNECT) runMode()
  else listen()
} catch (e) {
  debug(`disabled: ${e && e.message}`)
}
