// A minimal Chrome DevTools Protocol client over `ws`, enough to talk to a Node inspector.
import WebSocket from 'ws'

export class CdpError extends Error {}

export class Cdp {
  private nextId = 0
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>()
  readonly closed: Promise<void>
  isClosed = false

  private constructor(private ws: WebSocket) {
    ws.on('message', (m) => this.onMessage(String(m)))
    this.closed = new Promise((resolve) => {
      ws.on('close', () => {
        this.isClosed = true
        for (const [, p] of this.pending) {
          clearTimeout(p.timer)
          p.reject(new CdpError('inspector connection closed'))
        }
        this.pending.clear()
        resolve()
      })
    })
    ws.on('error', () => {})
  }

  static connect(url: string, timeoutMs = 3000): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 })
      const t = setTimeout(() => { ws.terminate(); reject(new CdpError(`no answer from ${url} within ${timeoutMs} ms`)) }, timeoutMs)
      ws.once('open', () => { clearTimeout(t); resolve(new Cdp(ws)) })
      ws.once('error', (e) => { clearTimeout(t); reject(new CdpError(`cannot connect to ${url}: ${e.message}`)) })
    })
  }

  private onMessage(text: string): void {
    let m: { id?: number; result?: unknown; error?: { message?: string } }
    try {
      m = JSON.parse(text)
    } catch {
      return
    }
    if (m.id === undefined) return
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    clearTimeout(p.timer)
    if (m.error) p.reject(new CdpError(m.error.message ?? 'inspector error'))
    else p.resolve(m.result)
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<T> {
    if (this.isClosed) return Promise.reject(new CdpError('inspector connection closed'))
    const id = ++this.nextId
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new CdpError(`${method}: no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Runtime.evaluate with returnByValue; throws on exceptions in the target. */
  async evaluate<T = unknown>(expression: string, timeoutMs = 5000): Promise<T> {
    const r = await this.send<{ result: { value?: T; description?: string }; exceptionDetails?: { text?: string; exception?: { description?: string } } }>(
      'Runtime.evaluate',
      { expression, returnByValue: true, includeCommandLineAPI: true, awaitPromise: false, silent: true },
      timeoutMs,
    )
    if (r.exceptionDetails) throw new CdpError(r.exceptionDetails.exception?.description?.split('\n')[0] ?? r.exceptionDetails.text ?? 'exception in target')
    return r.result.value as T
  }

  close(): void {
    if (!this.isClosed) this.ws.close()
  }
}
