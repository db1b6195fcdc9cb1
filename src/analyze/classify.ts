// Shared frame predicates: what is connect/handshake/TLS work, what is a periodic caller, what is
// telemetry, idle, GC. Used by `top` (marking), the rules, and the flamegraph colours.
import type { Frame } from '../model/types.js'

/**
 * Connection setup: dial / connect / handshake / TLS / QUIC / crypto key exchange. Matches Node
 * (`tls.connect`, `TLSSocket`, `afterConnect`, `_tlsConnect`), Rust (`iroh::endpoint::connect`,
 * `rustls::...handshake`, `quinn::...connect`), Go (`net.Dial`, `crypto/tls.(*Conn).Handshake`),
 * C (`connect`, `SSL_connect`, `SSL_do_handshake`, `ssl3_connect`).
 */
export const CONNECT_RE = /(^|[^a-z])(connect|dial|handshake|tls|ssl|quic|x509|ecdh|keyshare|key_share|keyexchange|key_exchange)|Connect|Dial|Handshake|TLS|SSL|afterConnect|connectPeer|join_?[Pp]eers?/

export function isConnectFrame(f: Frame | string): boolean {
  const name = typeof f === 'string' ? f : f.name
  return CONNECT_RE.test(name)
}

/** Timer / interval / tick dispatch: a periodic caller. */
export const PERIODIC_RE = /(listOnTimeout|processTimers|setInterval|Timeout\._onTimeout|uv__run_timers|tokio::time::interval|Interval::tick|(^|[^a-z])tick|Tick|(^|[_:.\s])loop($|[_:.\s(])|_loop\b|Loop\b|time\.Ticker|runtime\.timerproc|timer_fd|timerfd)/i

/** Names PERIODIC_RE would match that are not periodic: Node's nextTick / microtask machinery. */
export const NOT_PERIODIC_RE = /processTicksAndRejections|runNextTicks|nextTick|runMicrotasks/

export function isPeriodicFrame(f: Frame | string): boolean {
  const name = typeof f === 'string' ? f : f.name
  return PERIODIC_RE.test(name) && !NOT_PERIODIC_RE.test(name)
}

/**
 * Long-running task loops recognised by name only (weaker than a timer frame): Rust/tokio tasks
 * named `run_*` (`run_gossip`, `run_ping_sender`), and gossip / heartbeat / keep-alive / ping /
 * reconcile loops in any language (`runGossip`, `heartbeatLoop`).
 */
export const LOOP_TASK_RE = /(^|[^A-Za-z0-9])run_[a-z0-9_]+|gossip|heartbeat|keep_?alive|ping_?sender|reconcile|anti_?entropy/i

export function isLoopTaskFrame(f: Frame | string): boolean {
  const name = typeof f === 'string' ? f : f.name
  return LOOP_TASK_RE.test(name)
}

/** Tracing / telemetry / export work. */
export const TELEMETRY_RE = /(telemetry|tracing|opentelemetry|otel|otlp|span|exporter|export|BatchSpanProcessor|instrument|trace_?event)/i

export function isTelemetryFrame(f: Frame | string): boolean {
  const name = typeof f === 'string' ? f : f.name
  return TELEMETRY_RE.test(name)
}

export function isIdleFrame(f: Frame): boolean {
  return f.kind === 'idle' || f.name === '(idle)' || /^(cpu_idle|do_idle|cpuidle_|swapper|poll_idle|default_idle|intel_idle|acpi_idle|epoll_wait|__GI_epoll_wait|futex_wait)/.test(f.name)
}

export function isGcFrame(f: Frame): boolean {
  return f.kind === 'gc' || f.name === '(garbage collector)' || /^(v8::internal::Heap::|v8::internal::(Mark|Scavenge|MinorMC|Concurrent)|runtime\.gcBgMarkWorker|runtime\.gcDrain|runtime\.mallocgc|GC_)/.test(f.name)
}
