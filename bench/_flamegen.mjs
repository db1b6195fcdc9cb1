// Deterministic folded-stack generator for bench/flamegraph.mjs: a layered synthetic call graph
// (event loop -> dispatch -> mesh / gossip / tls / tracing / kernel code), stacks are random walks
// down it with skewed callee choice, so stacks share long prefixes like real profiles do.
// Names look like what perf/0x/inferno print for Node + native + kernel code.

export function mulberry32(seed) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const JS_VERBS = ['handle', 'process', 'dispatch', 'emit', 'read', 'write', 'encode', 'decode', 'parse', 'serialize', 'verify', 'sign', 'hash', 'lookup', 'insert', 'update', 'flush', 'drain', 'poll', 'schedule', 'connect', 'accept', 'resolve', 'send', 'recv', 'merge', 'compact', 'gossip', 'broadcast', 'forward']
const JS_NOUNS = ['Peer', 'Message', 'Frame', 'Stream', 'Packet', 'Topic', 'Membership', 'Digest', 'Envelope', 'Session', 'Batch', 'Span', 'Record', 'Entry', 'Buffer', 'Header', 'Chunk', 'Route', 'Table', 'Queue', 'Timer', 'Socket', 'Handshake', 'Key', 'Cert']
const FILES = ['mesh.js', 'gossip.js', 'peer-table.js', 'transport.js', 'codec.js', 'membership.js', 'router.js', 'telemetry.js', 'node_modules/ws/lib/websocket.js', 'node_modules/protobufjs/src/reader.js', 'node:internal/streams/writable', 'node:net', 'node:_tls_wrap', 'node_modules/@opentelemetry/sdk-trace-base/build/src/export/BatchSpanProcessorBase.js']
const NATIVE = ['v8::internal::Runtime_StringAdd', 'v8::internal::Heap::CollectGarbage', 'node::crypto::CipherBase::Update', 'node::TCPWrap::Connect', 'uv__io_poll', 'uv__write', 'uv__read', 'SSL_do_handshake', 'ssl3_read_bytes', 'EVP_DigestUpdate', 'sha256_block_data_order_avx2', 'memcpy', '__memmove_avx_unaligned_erms', 'malloc', 'free', 'pthread_mutex_lock', 'v8::internal::JsonParser<unsigned char>::ParseJsonValue', 'v8::internal::Builtins::InterpreterEntryTrampoline']
const KERNEL = ['entry_SYSCALL_64_after_hwframe_[k]', 'do_syscall_64_[k]', '__x64_sys_sendto_[k]', 'tcp_sendmsg_[k]', 'tcp_write_xmit_[k]', '__tcp_transmit_skb_[k]', 'ip_queue_xmit_[k]', '__dev_queue_xmit_[k]', 'tcp_v4_connect_[k]', 'copy_user_enhanced_fast_string_[k]', 'ep_poll_[k]', 'schedule_[k]', '__softirqentry_text_start_[k]', 'net_rx_action_[k]']

/**
 * Generate `uniqueStacks` distinct folded stacks (about `avgDepth` deep) with ~`samplesPerStack`
 * samples each on average. Returns the folded text.
 */
export function generateFolded(uniqueStacks, { seed = 7, avgDepth = 27, samplesPerStack = 10 } = {}) {
  const rnd = mulberry32(seed)
  const int = (n) => Math.floor(rnd() * n)
  const LAYERS = avgDepth + 12
  const PER_LAYER = Math.max(24, Math.round(Math.sqrt(uniqueStacks) * 1.2))
  // Functions per layer, with names that look like each layer's kind of code.
  const layers = []
  for (let L = 0; L < LAYERS; L++) {
    const fns = []
    for (let i = 0; i < PER_LAYER; i++) {
      const r = rnd()
      let name
      if (L < 3) name = ['node', 'node::Start', 'node::SpinEventLoop', 'uv_run', 'uv__io_poll', 'processTicksAndRejections node:internal/process/task_queues:95', 'listOnTimeout node:internal/timers:594'][(i + L * 2) % 7]
      else if (L > LAYERS - 8 && r < 0.45) name = KERNEL[int(KERNEL.length)] + (i % 3 ? '' : `_${i}`)
      else if (r < 0.2) name = NATIVE[int(NATIVE.length)] + (i % 4 ? '' : `<${i}>`)
      else {
        const verb = JS_VERBS[int(JS_VERBS.length)]
        const noun = JS_NOUNS[int(JS_NOUNS.length)]
        const file = FILES[int(FILES.length)]
        name = `${verb}${noun} ${file}:${1 + int(900)}_[j]`
      }
      fns.push(name)
    }
    layers.push(fns)
  }
  // Each function calls 2..9 functions of the next layer (or, sometimes, returns: a leaf).
  const callees = layers.map((fns, L) => fns.map(() => {
    if (L === LAYERS - 1) return []
    const k = 2 + int(8)
    return Array.from({ length: k }, () => int(PER_LAYER))
  }))
  const seen = new Map()
  const lines = []
  let guard = 0
  while (lines.length < uniqueStacks && guard++ < uniqueStacks * 50) {
    const depth = Math.max(6, Math.min(LAYERS, Math.round(avgDepth + (rnd() + rnd() + rnd() - 1.5) * 8)))
    let f = int(3) === 0 ? 1 : 0
    const parts = [layers[0][f]]
    for (let L = 1; L < depth; L++) {
      const cs = callees[L - 1][f]
      if (!cs.length) break
      // Skewed, most near the root: the first callees are much more likely, so stacks share long
      // hot prefixes and differ mostly towards the leaves, as real profiles do.
      const skew = L < depth * 0.4 ? 7 : L < depth * 0.7 ? 3 : 1.4
      f = cs[Math.min(cs.length - 1, Math.floor(Math.pow(rnd(), skew) * cs.length))]
      parts.push(layers[L][f])
    }
    const key = parts.join(';')
    if (seen.has(key)) continue
    seen.set(key, 1)
    // Heavy-tailed counts, mean about samplesPerStack.
    const count = Math.max(1, Math.round(samplesPerStack * 0.35 / Math.pow(1 - rnd() * 0.999, 0.75)))
    lines.push(`${key} ${count}`)
  }
  return lines.join('\n') + '\n'
}

/**
 * A V8 .cpuprofile (Profiler.Profile JSON) with `nodeCount` call-tree nodes: the same kind of
 * layered call graph, JS functions with real-looking scripts/lines, `(program)`, `(idle)`,
 * `(garbage collector)`, and `samples` samples 1 ms apart (leaf-heavy, heavy-tailed).
 */
export function generateCpuprofile(nodeCount, { seed = 11, samples = 400_000, avgDepth = 24 } = {}) {
  const rnd = mulberry32(seed)
  const int = (n) => Math.floor(rnd() * n)
  const SCRIPTS = ['file:///srv/mesh/mesh.js', 'file:///srv/mesh/gossip.js', 'file:///srv/mesh/peer-table.js', 'file:///srv/mesh/transport.js', 'file:///srv/mesh/node_modules/ws/lib/websocket.js', 'file:///srv/mesh/node_modules/protobufjs/src/reader.js', 'node:internal/streams/writable', 'node:net', 'node:_tls_wrap', 'node:internal/timers', 'file:///srv/mesh/node_modules/@opentelemetry/sdk-trace-base/build/src/export/BatchSpanProcessorBase.js']
  const LAYERS = avgDepth + 10
  const PER_LAYER = Math.max(30, Math.round(Math.sqrt(nodeCount) * 0.6))
  const fns = []
  for (let L = 0; L < LAYERS; L++) {
    const row = []
    for (let i = 0; i < PER_LAYER; i++) {
      const r = rnd()
      if (r < 0.12) row.push({ functionName: NATIVE[int(NATIVE.length)].replace(/<.*/, ''), scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 })
      else {
        const s = int(SCRIPTS.length)
        row.push({ functionName: r < 0.16 ? '' : `${JS_VERBS[int(JS_VERBS.length)]}${JS_NOUNS[int(JS_NOUNS.length)]}`, scriptId: String(10 + s), url: SCRIPTS[s], lineNumber: int(2000), columnNumber: int(80) })
      }
    }
    fns.push(row)
  }
  const callees = fns.map(() => Array.from({ length: PER_LAYER }, () => Array.from({ length: 2 + int(8) }, () => int(PER_LAYER))))
  const nodes = [{ id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, hitCount: 0, children: [] }]
  const special = ['(program)', '(idle)', '(garbage collector)'].map((n) => {
    const nd = { id: nodes.length + 1, callFrame: { functionName: n, scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, hitCount: 0, children: [] }
    nodes.push(nd)
    nodes[0].children.push(nd.id)
    return nd
  })
  const childMap = new Map()
  const childOf = (parent, L, f) => {
    const key = (parent.id * 64 + L) * 4096 + f
    let c = childMap.get(key)
    if (!c) {
      c = { id: nodes.length + 1, callFrame: fns[L][f], hitCount: 0, children: [] }
      nodes.push(c)
      parent.children.push(c.id)
      childMap.set(key, c)
    }
    return c
  }
  const leaves = []
  while (nodes.length < nodeCount) {
    const depth = Math.max(5, Math.min(LAYERS, Math.round(avgDepth + (rnd() + rnd() + rnd() - 1.5) * 8)))
    let f = int(2)
    let nd = childOf(nodes[0], 0, f)
    for (let L = 1; L < depth; L++) {
      const cs = callees[L - 1][f]
      const skew = L < depth * 0.4 ? 6 : L < depth * 0.7 ? 2.5 : 1.3
      f = cs[Math.min(cs.length - 1, Math.floor(Math.pow(rnd(), skew) * cs.length))]
      nd = childOf(nd, L, f)
    }
    leaves.push(nd.id)
  }
  const sampleIds = new Array(samples)
  const deltas = new Array(samples)
  for (let i = 0; i < samples; i++) {
    const r = rnd()
    let id
    if (r < 0.08) id = special[1].id
    else if (r < 0.11) id = special[0].id
    else if (r < 0.13) id = special[2].id
    else if (r < 0.85) id = leaves[Math.floor(Math.pow(rnd(), 1.6) * leaves.length)]
    else id = 2 + int(nodes.length - 1)
    sampleIds[i] = id
    nodes[id - 1].hitCount++
    deltas[i] = 900 + int(200)
  }
  for (const n of nodes) if (n.children.length === 0) delete n.children
  const startTime = 1763900000000000
  return JSON.stringify({ nodes, startTime, endTime: startTime + deltas.reduce((a, b) => a + b, 0), samples: sampleIds, timeDeltas: deltas })
}
