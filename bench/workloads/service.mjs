// A small but real Node service for bench/record.mjs to profile: an HTTP server whose handlers do
// what services do (parse JSON, render templates, gzip responses, hash payloads, sort and group
// records), driven by a load generator in a second process over 127.0.0.1.
//
//   node bench/workloads/service.mjs [--seconds N] [--clients C] [--pprof OUT.pb.gz --interval-us U]
//
// Prints `{"service":{"pid":P,"port":N}}` once listening. With --pprof the @datadog/pprof wall-time
// profiler runs for the whole window with contexts, and every sample gets the per-sample timeline
// labels dd-trace adds (end timestamp, thread, span/local root span ids): one label set per sample.
import { createServer, request } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { gzipSync, deflateRawSync } from 'node:zlib'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : dflt
}

if (argv[0] === '--client') {
  // Load generator: keep `clients` requests in flight against the service until the parent says stop.
  const port = Number(argv[1])
  const clients = Number(argv[2])
  const paths = ['/orders', '/search?q=gossip', '/report', '/render/profile', '/hash']
  let n = 0
  const one = () => {
    const path = paths[n++ % paths.length]
    const body = path === '/orders' ? JSON.stringify(makeOrders(40 + (n % 60))) : ''
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', headers: { 'accept-encoding': 'gzip', 'content-type': 'application/json' } }, (res) => {
      res.resume()
      res.on('end', one)
    })
    req.on('error', () => setTimeout(one, 10))
    req.end(body)
  }
  for (let i = 0; i < clients; i++) one()
  process.stdin.on('end', () => process.exit(0)).resume()
} else {
  main()
}

function makeOrders(n) {
  const out = []
  for (let i = 0; i < n; i++) {
    out.push({ id: `ord-${i}-${(i * 2654435761) >>> 0}`, customer: `cust-${i % 17}`, items: Array.from({ length: 1 + (i % 7) }, (_, j) => ({ sku: `sku-${(i * 31 + j) % 997}`, qty: 1 + (j % 3), price: ((i * 13 + j * 7) % 1000) / 10 })), note: 'x'.repeat(i % 50) })
  }
  return out
}

function groupTotals(orders) {
  const by = new Map()
  for (const o of orders) {
    let t = 0
    for (const it of o.items) t += it.qty * it.price
    by.set(o.customer, (by.get(o.customer) ?? 0) + t)
  }
  return [...by.entries()].sort((a, b) => b[1] - a[1])
}

function renderRow(cells) {
  return `<tr>${cells.map((c) => `<td>${String(c).replace(/[<&>]/g, (ch) => `&#${ch.charCodeAt(0)};`)}</td>`).join('')}</tr>`
}

function renderPage(title, rows) {
  return `<!doctype html><title>${title}</title><table>${rows.map(renderRow).join('\n')}</table>`
}

const docs = Array.from({ length: 2000 }, (_, i) => `node ${i} gossips with peer ${(i * 7) % 2000} about topic ${i % 37} ${randomBytes(24).toString('hex')}`)

function search(q) {
  const hits = []
  for (const d of docs) if (d.includes(q) || d.endsWith(String(q.length))) hits.push(d)
  return hits.slice(0, 50).map((d) => ({ doc: d, score: d.length % 13 }))
}

function handle(req, body) {
  const url = new URL(req.url, 'http://x')
  switch (url.pathname) {
    case '/orders': {
      const orders = JSON.parse(body || '[]')
      return JSON.stringify({ totals: groupTotals(orders), count: orders.length })
    }
    case '/search': return JSON.stringify(search(url.searchParams.get('q') ?? ''))
    case '/report': return renderPage('report', groupTotals(makeOrders(200)).map(([c, t]) => [c, t.toFixed(2)]))
    case '/render/profile': return renderPage('profile', docs.slice(0, 120).map((d, i) => [i, d]))
    case '/hash': {
      let h = randomBytes(32)
      for (let i = 0; i < 200; i++) h = createHash(i % 2 ? 'sha256' : 'sha1').update(h).digest()
      return deflateRawSync(h).toString('base64')
    }
    default: return 'not found'
  }
}

function main() {
  const seconds = Number(opt('--seconds', '30'))
  const clients = Number(opt('--clients', '8'))
  const pprofOut = opt('--pprof', '')
  const intervalUs = Number(opt('--interval-us', '100'))
  let pprof
  if (pprofOut) {
    pprof = createRequire(import.meta.url)('@datadog/pprof')
    pprof.time.start({ intervalMicros: intervalUs, durationMillis: 3600_000, withContexts: true, collectCpuTime: true, lineNumbers: false })
  }
  let spanId = 1n
  const server = createServer((req, res) => {
    if (pprof) pprof.time.setContext({ spanId: String(spanId++), rootSpanId: String(spanId >> 3n), endpoint: req.url.split('?')[0] })
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const out = handle(req, Buffer.concat(chunks).toString())
      const z = gzipSync(out)
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
      res.end(z)
    })
  })
  server.listen(0, '127.0.0.1', () => {
    const port = server.address().port
    process.stdout.write(`${JSON.stringify({ service: { pid: process.pid, port } })}\n`)
    const client = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', String(port), String(clients)], { stdio: ['pipe', 'inherit', 'inherit'] })
    setTimeout(() => {
      if (pprof) {
        // dd-trace's timeline labels: every sample carries its own end timestamp and span ids.
        const profile = pprof.time.stop(false, ({ context }) => {
          if (!context) return {}
          const l = { 'thread name': 'Main Event Loop', 'thread id': '0', end_timestamp_ns: Number(context.timestamp) * 1000 }
          const c = context.context
          if (c) Object.assign(l, { 'span id': c.spanId, 'local root span id': c.rootSpanId, 'trace endpoint': c.endpoint })
          return l
        })
        writeFileSync(pprofOut, pprof.encodeSync(profile))
      }
      client.stdin.end()
      server.close()
      server.closeAllConnections?.()
      setTimeout(() => process.exit(0), 200).unref()
    }, seconds * 1000)
  })
}
