'use strict'
// In-target half of `meshprof capture`. Runs INSIDE the profiled Node process:
// - the inspector back-end evaluates this file's text in the target through Runtime.evaluate
//   (so it may not use `require` unless the evaluation provides one; builtins come from
//   process.getBuiltinModule), then closes the inspector port again;
// - the agent preload (preload.cjs) require()s it.
//
// It records, for one capture window:
// - a CPU profile (inspector: an in-process inspector.Session, which keeps running after the
//   inspector's TCP port is closed; agent: @datadog/pprof's CPU-time profiler);
// - (inspector) a CPU profile of every worker thread, through the NodeWorker domain;
// - every outgoing TCP/TLS connect: remote, time, TLS or plain, the JavaScript stack that initiated
//   it and whether an established socket to that remote already existed;
// - the established outgoing sockets at the start, every second, and at the end;
// - with `heap` (capture --heap): live heap by allocation site from V8's sampling heap profiler
//   (inspector: HeapProfiler domain on the in-process session; agent: @datadog/pprof's heap
//   profiler) at about ten points of the window, active handles by type (getActiveResourcesInfo)
//   and the used heap every second, v8.getHeapStatistics() at the start and the end.
// and streams it as newline-delimited JSON over a local socket to meshprof.
//
// Why a Socket.prototype.connect wrapper and not only diagnostics_channel `net.client.socket`:
// on Node 20 `tls.connect()` does not publish on `net.client.socket` (only `net.connect()` does), and
// the channel fires before the remote address is known. Every TCP connect, plain or TLS, goes through
// net.Socket.prototype.connect, which is wrapped for the window only and restored afterwards (or
// left as an inert pass-through if someone wrapped it after us).
//
// Protocol (one JSON object per line):
//   probe -> meshprof: hello, started, stack, conn (batched in `conns`), snap, profile, end, error,
//                      and with heap: hsite (an allocation site's frames), hpoint (live bytes per site), hstats
//                      and (inspector) per worker thread: wprofile (its CPU profile) or wlost (why not)
//   meshprof -> probe: {"cmd":"start","durationMs":N,"rateHz":N} | {"cmd":"stop"}
// Safety: if meshprof goes away (socket closes) the probe stops and keeps the finished lines for
// RETAIN_MS only (so a `rescue()` can still collect them), then drops them; if no start arrives
// within armTimeoutMs it removes itself; it stops on its own after durationMs + graceMs.
//
// A main thread stuck in synchronous JavaScript never turns the event loop: the socket to meshprof
// never connects and no command arrives. The inspector still runs code in it (V8 interrupts), so:
// - cfg.profileNow starts the CPU profiler at creation, inside the Runtime.evaluate that creates
//   the probe; a `start` command later marks the window start (`windowOffsetMs` into the profile,
//   where meshprof cuts it, so that every target's window starts together without a restart);
// - `rescue()` (called through Runtime.evaluate at the end of the window) stops everything
//   synchronously and returns the lines the socket would have carried.

const PROBE_KEY = Symbol.for('meshprof.probe')
const MAX_CONNECTS = 50000
const MAX_STACKS = 4000
const SNAPSHOT_EVERY_MS = 1000
const FLUSH_EVERY_MS = 200
/** Initiator stacks cost ~50 us each; at most this many per second (every connect is still counted). */
const STACKS_PER_SECOND = 100
/** How long finished lines wait for a rescue() after meshprof's socket went away. */
const RETAIN_MS = 15000
/** How long stop() waits for the worker threads' profiles. */
const WORKER_STOP_MS = 1000

function load(name) {
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule(name)
  // Node < 20.16: the inspector evaluation passes includeCommandLineAPI, which provides require.
  // eslint-disable-next-line no-undef
  return require(name)
}

/**
 * cfg: { token, backend: 'inspector'|'agent', connectPath?, armTimeoutMs?, graceMs?, autoStart?: {durationMs, rateHz},
 *        agentProfiler?: { start(rateHz), stopSync() -> {format, data} } }
 * Returns { ok: true } or { ok: false, error }.
 */
function createProbe(cfg) {
  const existing = globalThis[PROBE_KEY]
  if (existing && existing.busy) return { ok: false, error: 'another meshprof capture is already running in this process' }
  const net = load('net')
  const fs = load('fs')
  const { performance } = load('perf_hooks')

  const probe = { busy: true }
  globalThis[PROBE_KEY] = probe

  let sock = null
  let inbuf = ''
  let started = false
  let finished = false
  /** The CPU profiler runs (it may run before the window's network recording starts). */
  let profiling = false
  let profStartEpochMs = 0
  let profT0 = 0
  /** Lines of a window that ended without a socket to send them on (for rescue()). */
  let retained = null
  /** The final lines while stop() waits for the worker threads' profiles (a rescue() may take them). */
  let stopping = null
  /** ms into the window when the loop first turned (a late `start`), 0 when on time. */
  let netStartMs = 0
  /** ms into the running profile where the window starts (meshprof drops the samples before it). */
  let windowOffsetMs = 0
  let t0 = 0
  let startEpochMs = 0
  let cpu0 = null
  let durationMs = 0
  let timers = []
  let pending = []
  let connects = 0
  let dropped = 0
  let stackSecond = -1
  let stacksThisSecond = 0
  const stacks = new Map()
  let session = null
  let heap = null
  let armTimer = null
  let exitHooked = false

  // ------------------------------------------------------------------ transport
  function line(obj) {
    return JSON.stringify(obj) + '\n'
  }
  let early = [] // lines sent before the socket is attached (autoStart)
  function send(obj) {
    if (sock && !sock.destroyed && sock.writable) sock.write(line(obj))
    else if (!sock && early && early.length < 1000) early.push(line(obj))
  }
  function flush() {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    send({ k: 'conns', c: batch })
  }

  // ------------------------------------------------------------------ network evidence
  const proto = net.Socket.prototype
  const origConnect = proto.connect
  const hook = { active: false }
  let handleCache = null
  let handleCacheAt = -1

  function isInbound(h) {
    return Boolean(h.server || h._server || (h._tlsOptions && h._tlsOptions.isServer))
  }
  function outboundSockets() {
    const now = performance.now()
    if (handleCache && now - handleCacheAt < 20) return handleCache
    const out = []
    const handles = typeof process._getActiveHandles === 'function' ? process._getActiveHandles() : []
    for (const h of handles) {
      try {
        if (h instanceof net.Socket && !h.destroyed && !h.connecting && !isInbound(h)) {
          const port = h.remotePort
          if (port) out.push({ sock: h, addr: h.remoteAddress, host: h._host, port })
        }
      } catch {
        // a handle mid-teardown
      }
    }
    handleCache = out
    handleCacheAt = now
    return out
  }
  function remoteOf(addr, port) {
    return addr && addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
  }
  function snapshot() {
    handleCacheAt = -1
    const remotes = outboundSockets().map((s) => remoteOf(s.addr, s.port)).sort()
    const t = Math.round((performance.now() - t0) * 1000) / 1000
    send({ k: 'snap', t, r: remotes, ...(heap ? heap.counters() : {}) })
    if (heap && t >= heap.nextPointMs) {
      heap.point(t)
      heap.nextPointMs = t + heap.pointEveryMs - SNAPSHOT_EVERY_MS / 2
    }
  }
  function stackId() {
    const holder = {}
    const lim = Error.stackTraceLimit
    Error.stackTraceLimit = 40
    Error.captureStackTrace(holder, connect)
    Error.stackTraceLimit = lim
    const lines = String(holder.stack || '').split('\n')
    const frames = []
    for (const l of lines) {
      const m = /^\s*at (.*)$/.exec(l)
      if (m) frames.push(m[1].replace(/file:\/\//g, ''))
    }
    frames.reverse() // root first
    const key = frames.join('\n')
    let id = stacks.get(key)
    if (id === undefined) {
      if (stacks.size >= MAX_STACKS) return -1
      id = stacks.size
      stacks.set(key, id)
      send({ k: 'stack', id, f: frames })
    }
    return id
  }
  function onConnect(self, args) {
    let o = args[0]
    if (Array.isArray(o)) o = o[0]
    let host
    let port
    if (o !== null && typeof o === 'object') {
      if (o.path) return
      host = o.host
      port = o.port
    } else if (typeof o === 'number' || (typeof o === 'string' && /^\d+$/.test(o))) {
      port = o
      if (typeof args[1] === 'string') host = args[1]
    } else {
      return // unix socket path
    }
    if (port === undefined || port === null) return
    port = Number(port)
    host = host || 'localhost'
    connects++
    if (connects > MAX_CONNECTS) {
      dropped++
      return
    }
    let already = false
    for (const s of outboundSockets()) {
      if (s.sock !== self && s.port === port && (s.addr === host || s.host === host)) {
        already = true
        break
      }
    }
    const t = performance.now() - t0
    const sec = Math.floor(t / 1000)
    if (sec !== stackSecond) {
      stackSecond = sec
      stacksThisSecond = 0
    }
    pending.push({
      t: Math.round(t * 1000) / 1000,
      r: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      tls: self.encrypted === true,
      s: stacksThisSecond++ < STACKS_PER_SECOND ? stackId() : -1,
      a: already,
    })
  }
  function connect(...args) {
    if (hook.active) {
      try {
        onConnect(this, args)
      } catch {
        // never break the application's connect
      }
    }
    return origConnect.apply(this, args)
  }
  function installHook() {
    hook.active = true
    proto.connect = connect
  }
  function removeHook() {
    hook.active = false
    if (proto.connect === connect) proto.connect = origConnect
    // else: someone wrapped it after us; our wrapper stays as an inert pass-through
  }

  // ------------------------------------------------------------------ profilers
  function inspectorProfiler() {
    const inspector = load('inspector')
    return {
      start(rateHz) {
        session = new inspector.Session()
        session.connect()
        let err = null
        session.post('Profiler.enable', (e) => { if (e) err = e })
        session.post('Profiler.setSamplingInterval', { interval: Math.max(1, Math.round(1e6 / rateHz)) }, (e) => { if (e) err = e })
        session.post('Profiler.start', (e) => { if (e) err = e })
        if (err) throw new Error(err.message || String(err))
      },
      stopSync() {
        let out = null
        let err = null
        session.post('Profiler.stop', (e, r) => {
          if (e) err = e
          else out = r.profile
        })
        try { session.post('Profiler.disable') } catch { /* ignore */ }
        try { session.disconnect() } catch { /* ignore */ }
        session = null
        if (err || !out) throw new Error(err ? err.message : 'Profiler.stop returned nothing')
        return { format: 'cpuprofile', data: out }
      },
      abort() {
        if (!session) return
        try { session.post('Profiler.stop', () => {}) } catch { /* ignore */ }
        try { session.disconnect() } catch { /* ignore */ }
        session = null
      },
    }
  }
  const profiler = cfg.backend === 'agent' ? cfg.agentProfiler : inspectorProfiler()

  // ------------------------------------------------------------------ worker threads (inspector)
  /**
   * Every worker thread's CPU profile for the window, through the NodeWorker domain of an
   * in-process session: the workers running at the start, and those started in the window. A new
   * worker waits at its start (waitForDebuggerOnStart) until its profiler runs, so it is profiled
   * from its first line; the attach handler ALWAYS releases it (Runtime.runIfWaitingForDebugger),
   * whatever else fails: a worker left waiting would wait forever, even after the session closes.
   * The handler runs on the main thread even while it spins (the inspector dispatches through V8
   * interrupts), so a blocked main loop does not hold new workers either.
   * Collecting the profiles needs replies from the workers: stop() waits for them (bounded);
   * a rescue() or an exiting process cannot wait, and says how many worker profiles it lost.
   */
  function workerProfilers(rateHz) {
    const inspector = load('inspector')
    const ws = new inspector.Session()
    ws.connect()
    const workers = new Map() // NodeWorker sessionId -> worker
    const waiters = new Map() // `${sessionId}:${id}` -> resolve(reply)
    let nextId = 1
    let closed = false
    const interval = Math.max(1, Math.round(1e6 / rateHz))
    const TID = "(() => { try { const fs = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('fs') : require('fs'); return fs.readlinkSync('/proc/thread-self') } catch { return '' } })()"
    function post(w, method, params) {
      const id = nextId++
      const key = `${w.sessionId}:${id}`
      return new Promise((resolve) => {
        if (w.gone) return resolve({ error: { message: 'the worker exited' } })
        waiters.set(key, resolve)
        try {
          ws.post('NodeWorker.sendMessageToWorker', { sessionId: w.sessionId, message: JSON.stringify({ id, method, params: params || {} }) })
        } catch (e) {
          waiters.delete(key)
          resolve({ error: { message: String(e && e.message) } })
        }
      })
    }
    ws.on('NodeWorker.attachedToWorker', (m) => {
      const params = m.params || {}
      const info = params.workerInfo || {}
      const title = /^\[worker (\d+)\]\s*(.*)$/.exec(String(info.title || ''))
      const w = {
        sessionId: params.sessionId,
        threadId: Number(info.workerId) || (title ? Number(title[1]) : 0),
        name: title ? title[2] : '',
        startMs: Math.round((performance.now() - t0) * 1000) / 1000,
        fromStart: params.waitingForDebugger === true,
        tid: 0,
        gone: false,
        running: null,
      }
      workers.set(w.sessionId, w)
      try {
        if (!closed) {
          w.running = Promise.all([post(w, 'Profiler.enable'), post(w, 'Profiler.setSamplingInterval', { interval }), post(w, 'Profiler.start')])
            .then((rs) => { const bad = rs.find((r) => r && r.error); return bad ? bad.error.message || 'cannot start its profiler' : null })
          post(w, 'Runtime.evaluate', { expression: TID, returnByValue: true }).then((r) => {
            const v = r && r.result && r.result.result && r.result.result.value
            const tid = /\/task\/(\d+)$/.exec(String(v || ''))
            if (tid) w.tid = Number(tid[1])
          })
        }
      } catch {
        // a worker we cannot profile still runs
      } finally {
        if (params.waitingForDebugger) post(w, 'Runtime.runIfWaitingForDebugger')
      }
    })
    ws.on('NodeWorker.receivedMessageFromWorker', (m) => {
      const params = m.params || {}
      let msg
      try {
        msg = JSON.parse(params.message)
      } catch {
        return
      }
      if (!msg || msg.id === undefined) return
      const key = `${params.sessionId}:${msg.id}`
      const r = waiters.get(key)
      if (r) {
        waiters.delete(key)
        r(msg)
      }
    })
    ws.on('NodeWorker.detachedFromWorker', (m) => {
      const sid = m.params && m.params.sessionId
      const w = workers.get(sid)
      if (w) w.gone = true
      for (const [key, r] of [...waiters]) if (key.startsWith(`${sid}:`)) { waiters.delete(key); r({ error: { message: 'the worker exited' } }) }
    })
    ws.post('NodeWorker.enable', { waitForDebuggerOnStart: true })

    /** Workers starting from now on do not wait for us. */
    function noMoreWaiting() {
      closed = true
      try { ws.post('NodeWorker.enable', { waitForDebuggerOnStart: false }) } catch { /* ignore */ }
    }
    /**
     * Close the session a little later, so that a worker that began to wait just before
     * noMoreWaiting() still meets the attach handler that releases it. With the loop blocked the
     * timer never fires and the in-process session stays (it holds no port and nothing else).
     */
    function closeLater() {
      const t = setTimeout(() => {
        try { ws.post('NodeWorker.disable') } catch { /* ignore */ }
        try { ws.disconnect() } catch { /* ignore */ }
      }, 500)
      if (t.unref) t.unref()
    }
    const ident = (w) => ({ threadId: w.threadId, name: w.name, ...(w.tid ? { tid: w.tid } : {}), startMs: w.startMs, fromStart: w.fromStart })
    return {
      /** Stop every worker's profiler; resolves with `wprofile` / `wlost` lines within about timeoutMs. */
      async collect(timeoutMs) {
        noMoreWaiting()
        const out = []
        const answered = new Set()
        const jobs = [...workers.values()].map(async (w) => {
          const problem = w.running ? await w.running : 'its profiler never started'
          const r = problem ? { error: { message: problem } } : await post(w, 'Profiler.stop')
          answered.add(w)
          const profile = r && r.result && r.result.profile
          if (profile) out.push({ k: 'wprofile', ...ident(w), data: profile })
          else out.push({ k: 'wlost', ...ident(w), reason: (r && r.error && r.error.message) || 'no profile' })
          post(w, 'Profiler.disable')
        })
        let timer
        await Promise.race([Promise.all(jobs), new Promise((res) => { timer = setTimeout(res, timeoutMs) })])
        clearTimeout(timer)
        for (const w of workers.values()) if (!answered.has(w)) out.push({ k: 'wlost', ...ident(w), reason: `did not answer within ${timeoutMs} ms` })
        closeLater()
        return out
      },
      /**
       * No waiting possible (rescue, exit): the worker profiles are lost; returns how many. Their
       * profilers are stopped all the same (the replies are not awaited): a profiler left running
       * in a worker would cost it CPU and memory for as long as it lives.
       */
      abandon() {
        noMoreWaiting()
        for (const w of workers.values()) {
          if (w.gone) continue
          post(w, 'Profiler.stop')
          post(w, 'Profiler.disable')
        }
        closeLater()
        return [...workers.values()].filter((w) => !w.gone).length
      },
    }
  }
  /** Worker profilers of the window (inspector back-end), or null. */
  let workerProf = null

  // ------------------------------------------------------------------ heap and handles (--heap)
  /** Inspector: the sampling heap profiler on its own in-process session; sites in V8's node shape. */
  function inspectorHeap() {
    const inspector = load('inspector')
    let hs = null
    const post = (method, params) => {
      let out = null
      let err = null
      hs.post(method, params || {}, (e, r) => { if (e) err = e; else out = r })
      if (err) throw new Error(err.message || String(err))
      return out
    }
    return {
      start(intervalBytes) {
        hs = new inspector.Session()
        hs.connect()
        post('HeapProfiler.enable')
        post('HeapProfiler.startSampling', { samplingInterval: intervalBytes })
      },
      /** Calls visit(frame [fn, url, line0, col0], depth, bytes, count) parent-first. */
      walk(visit) {
        const r = post('HeapProfiler.getSamplingProfile')
        const n = new Map() // node id -> [sampled objects, sampled bytes]: scales selfSize to an object count
        for (const smp of r.profile.samples || []) {
          const a = n.get(smp.nodeId) || [0, 0]
          a[0]++
          a[1] += smp.size
          n.set(smp.nodeId, a)
        }
        const stack = [[r.profile.head, 0]]
        while (stack.length) {
          const [node, depth] = stack.pop()
          const cf = node.callFrame
          const a = n.get(node.id)
          const count = a && a[1] > 0 ? (a[0] * node.selfSize) / a[1] : 0
          if (depth > 0) visit([cf.functionName, cf.url, cf.lineNumber, cf.columnNumber], depth, node.selfSize, count)
          for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1])
        }
      },
      stop() {
        if (!hs) return
        try { post('HeapProfiler.stopSampling') } catch { /* ignore */ }
        try { hs.disconnect() } catch { /* ignore */ }
        hs = null
      },
    }
  }
  function heapRecorder(sampler) {
    const v8 = load('v8')
    const siteIds = new Map()
    const h = {
      // about ten points a window, at least one every 10 s (`meshprof run` windows last until exit)
      pointEveryMs: Math.min(10000, Math.max(SNAPSHOT_EVERY_MS, Math.round(durationMs / 10))),
      nextPointMs: 0,
      counters() {
        const handles = {}
        for (const type of process.getActiveResourcesInfo ? process.getActiveResourcesInfo() : []) handles[type] = (handles[type] || 0) + 1
        return { h: handles, u: v8.getHeapStatistics().used_heap_size }
      },
      stats(which, emit = send) {
        emit({ k: 'hstats', which, t: Math.round((performance.now() - t0) * 1000) / 1000, s: v8.getHeapStatistics() })
      },
      /** Live bytes and objects per allocation site (a site = its full stack), sent as [id, bytes, count]. */
      point(t, emit = send) {
        const path = []
        const out = []
        sampler.walk((frame, depth, bytes, count) => {
          path.length = depth - 1
          path.push(frame)
          if (!(bytes > 0)) return
          const key = JSON.stringify(path)
          let id = siteIds.get(key)
          if (id === undefined) {
            id = siteIds.size
            siteIds.set(key, id)
            emit({ k: 'hsite', id, f: path.slice() })
          }
          out.push([id, Math.round(bytes), Math.round(count * 100) / 100])
        })
        emit({ k: 'hpoint', t, s: out })
      },
      stop() {
        sampler.stop()
      },
    }
    return h
  }

  // ------------------------------------------------------------------ window
  function cpuNs() {
    const u = process.cpuUsage(cpu0)
    return (u.user + u.system) * 1000
  }
  function startProfiler(rateHz) {
    cpu0 = process.cpuUsage()
    profT0 = performance.now()
    profStartEpochMs = Date.now()
    profiler.start(rateHz)
    profiling = true
  }
  /**
   * msg.keepProfile: the profiler started at creation keeps running (the loop turned late, so the
   * window began at creation); otherwise it is restarted so that the window starts now.
   */
  function start(msg) {
    if (started || finished) return
    started = true
    if (armTimer) clearTimeout(armTimer)
    durationMs = Number(msg.durationMs) || 15000
    const rateHz = Number(msg.rateHz) || 499
    try {
      if (!profiling) startProfiler(rateHz)
    } catch (e) {
      send({ k: 'error', message: `cannot start the profiler: ${e && e.message}` })
      cleanup()
      return
    }
    if (msg.keepProfile) {
      // the loop turned late: the window is the whole profile, the network evidence starts now
      netStartMs = performance.now() - profT0
      t0 = profT0
      startEpochMs = profStartEpochMs
    } else {
      t0 = performance.now()
      windowOffsetMs = t0 - profT0
      startEpochMs = profStartEpochMs + windowOffsetMs
      cpu0 = process.cpuUsage()
    }
    if (msg.heap) {
      try {
        const sampler = cfg.backend === 'agent' ? cfg.agentHeap : inspectorHeap()
        if (!sampler) throw new Error('this agent has no heap profiler')
        sampler.start(Number(msg.heapIntervalBytes) || 32768)
        heap = heapRecorder(sampler)
        heap.stats('start')
      } catch (e) {
        heap = null
        send({ k: 'error', message: `no heap profile: ${e && e.message}` })
      }
    }
    if (cfg.backend !== 'agent' && msg.workers !== false) {
      try {
        workerProf = workerProfilers(rateHz)
      } catch (e) {
        send({ k: 'error', message: `no worker thread profiles: ${e && e.message}` })
      }
    }
    probe.inWindow = true // read by nothing in meshprof; a target (or a test) may look
    installHook()
    snapshot()
    send({ k: 'started', epochMs: startEpochMs, pid: process.pid, ...(netStartMs ? { netStartMs } : {}) })
    timers.push(setInterval(snapshot, SNAPSHOT_EVERY_MS))
    timers.push(setInterval(flush, FLUSH_EVERY_MS))
    // Safety net: stop on our own if meshprof never says stop.
    timers.push(setTimeout(() => stop('timeout'), Math.min(2147483647, durationMs + (cfg.graceMs || 10000))))
    for (const t of timers) if (t.unref) t.unref()
    if (!exitHooked) {
      process.prependListener('exit', onExit)
      exitHooked = true
    }
  }
  /** The worker profilers cannot be waited for (rescue, exit): say what that loses. */
  function abandonWorkers(why) {
    if (!workerProf) return []
    const n = workerProf.abandon()
    workerProf = null
    return n ? [line({ k: 'error', message: `${n} worker thread profile${n === 1 ? '' : 's'} lost: ${why}` })] : []
  }
  function finalLines(reason) {
    removeHook()
    for (const t of timers) clearInterval(t)
    timers = []
    const out = []
    if (started) {
      const batch = pending
      pending = []
      if (batch.length) out.push(line({ k: 'conns', c: batch }))
      handleCacheAt = -1
      const tEnd = Math.round((performance.now() - t0) * 1000) / 1000
      out.push(line({ k: 'snap', t: tEnd, r: outboundSockets().map((s) => remoteOf(s.addr, s.port)).sort(), ...(heap ? heap.counters() : {}) }))
      if (heap) {
        // into the final lines, so a rescue() through the inspector returns them too
        try {
          const emit = (o) => out.push(line(o))
          heap.point(tEnd, emit)
          heap.stats('end', emit)
        } catch (e) {
          out.push(line({ k: 'error', message: `no final heap point: ${e && e.message}` }))
        }
        heap.stop()
        heap = null
      }
    }
    const wallMs = performance.now() - (started ? t0 : profT0)
    const cpu = cpuNs()
    let prof = null
    try {
      prof = profiling ? profiler.stopSync() : null
    } catch (e) {
      out.push(line({ k: 'error', message: `cannot stop the profiler: ${e && e.message}` }))
    }
    profiling = false
    if (prof) out.push(line({ k: 'profile', format: prof.format, data: prof.data }))
    out.push(line({ k: 'end', reason, wallMs, cpuNs: cpu, connects, dropped, epochMs: started ? startEpochMs : profStartEpochMs, network: started, ...(netStartMs ? { netStartMs } : {}), ...(windowOffsetMs ? { windowOffsetMs } : {}) }))
    return out
  }
  /**
   * Called through the inspector (Runtime.evaluate, which runs even while the main thread spins):
   * end the window now and return its lines, or the lines kept after the socket went away.
   * Returns '' when there is nothing (never profiled, or already handed over).
   */
  function rescue() {
    if (stopping) {
      // stop() is still waiting for the worker profiles: hand over the main thread's lines now
      const r = [line({ k: 'error', message: 'worker thread profiles lost: they were not in when meshprof collected the window' }), ...stopping].join('')
      stopping = null
      if (sock && !sock.destroyed) sock.destroy()
      cleanup()
      return r
    }
    if (retained) {
      const r = retained.join('')
      retained = null
      cleanup()
      return r
    }
    if (finished || !profiling) return ''
    finished = true
    let out
    try {
      out = [...abandonWorkers('the main thread was blocked at the end of the window (worker profiles are collected through its event loop)'), ...finalLines(started ? 'rescued through the inspector (event loop blocked)' : 'rescued through the inspector (event loop blocked for the whole window)')]
    } finally {
      if (sock && !sock.destroyed) sock.destroy()
      cleanup()
    }
    return out.join('')
  }
  function stop(reason) {
    if (finished) return
    if (!started && !profiling) {
      cleanup()
      return
    }
    finished = true
    // every worker's profiler is asked to stop now, the main thread's in finalLines(), then the
    // worker profiles are awaited (bounded) and sent before the main lines, whose `end` is last
    const wp = workerProf
    workerProf = null
    const workerLines = wp ? wp.collect(WORKER_STOP_MS) : Promise.resolve([])
    const out = finalLines(reason)
    stopping = out
    const finish = (wlines) => {
      if (stopping !== out) return // a rescue() took the lines meanwhile
      stopping = null
      const s = sock
      for (const l of [...wlines.map(line), ...out]) if (s && !s.destroyed) s.write(l)
      if (s) s.end()
      cleanup()
    }
    workerLines.then(finish, () => finish([]))
  }
  function onExit(code) {
    if ((!started && !profiling) || finished) return
    finished = true
    let out
    try {
      out = [...abandonWorkers('the process exited'), ...finalLines(`target exiting (code ${code})`)]
    } catch {
      return
    }
    // The event loop is gone: write synchronously to the socket's fd. The leading newline
    // terminates a line the stream may have left half-written.
    const fd = sock && sock._handle && typeof sock._handle.fd === 'number' ? sock._handle.fd : -1
    if (fd < 0) return
    const buf = Buffer.from('\n' + out.join(''))
    let off = 0
    const deadline = Date.now() + 3000
    while (off < buf.length && Date.now() < deadline) {
      try {
        off += fs.writeSync(fd, buf, off)
      } catch (e) {
        if (e.code !== 'EAGAIN') break
      }
    }
  }
  function cleanup() {
    finished = true
    removeHook()
    for (const t of timers) clearInterval(t)
    timers = []
    if (armTimer) clearTimeout(armTimer)
    if (profiling && profiler && profiler.abort) profiler.abort()
    profiling = false
    if (heap) heap.stop()
    heap = null
    if (workerProf) workerProf.abandon()
    workerProf = null
    if (exitHooked) process.removeListener('exit', onExit)
    exitHooked = false
    probe.busy = false
    probe.inWindow = false
    if (globalThis[PROBE_KEY] === probe) delete globalThis[PROBE_KEY]
  }

  // ------------------------------------------------------------------ wiring
  function onData(d) {
    inbuf += d
    let nl
    while ((nl = inbuf.indexOf('\n')) >= 0) {
      const l = inbuf.slice(0, nl)
      inbuf = inbuf.slice(nl + 1)
      let msg
      try {
        msg = JSON.parse(l)
      } catch {
        continue
      }
      if (msg.cmd === 'start') start(msg)
      else if (msg.cmd === 'stop') stop('stopped by meshprof')
    }
    if (inbuf.length > 65536) inbuf = ''
  }
  function attach(s) {
    sock = s
    s.setEncoding('utf8')
    s.on('data', onData)
    s.on('error', () => {})
    s.on('close', () => {
      // meshprof went away, or the socket was dropped: end the window now and keep its lines a
      // little while for a rescue() through the inspector, then drop them.
      if (finished) return
      if (!started && !profiling) {
        cleanup()
        return
      }
      finished = true
      try {
        retained = [...abandonWorkers('the connection to meshprof was dropped'), ...finalLines('the connection to meshprof was dropped')]
      } catch {
        retained = null
      }
      cleanup()
      if (retained) {
        probe.busy = true // until the lines are collected or dropped
        globalThis[PROBE_KEY] = probe
        const t = setTimeout(() => {
          retained = null
          probe.busy = false
          if (globalThis[PROBE_KEY] === probe) delete globalThis[PROBE_KEY]
        }, RETAIN_MS)
        if (t.unref) t.unref()
      }
    })
    if (s.unref) s.unref()
    send({ k: 'hello', token: cfg.token, pid: process.pid, node: process.version, backend: cfg.backend, title: process.title, argv: process.argv, execArgv: process.execArgv })
    for (const l of early) s.write(l)
    early = null
  }
  probe.attach = attach
  probe.stop = stop
  probe.rescue = rescue
  probe.profileStartEpochMs = () => profStartEpochMs

  armTimer = setTimeout(() => {
    if (!started) {
      if (sock) sock.destroy()
      cleanup()
    }
  }, cfg.armTimeoutMs || 30000)
  if (armTimer.unref) armTimer.unref()

  // `meshprof run`: profile from the very start of the process, before meshprof's start arrives.
  if (cfg.autoStart) start(cfg.autoStart)
  else if (cfg.profileNow) {
    try {
      startProfiler(Number(cfg.profileNow.rateHz) || 499)
    } catch (e) {
      cleanup()
      return { ok: false, error: `cannot start the profiler: ${e && e.message}` }
    }
  }

  if (cfg.connectPath) {
    try {
      const s = net.createConnection({ path: cfg.connectPath })
      s.on('error', () => cleanup())
      attach(s)
    } catch (e) {
      cleanup()
      return { ok: false, error: `cannot reach meshprof: ${e && e.message}` }
    }
  }
  return { ok: true, probe }
}

module.exports = createProbe
