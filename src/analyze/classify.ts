// Shared frame predicates: what is connect/handshake/TLS work, what is a periodic caller, what is
// telemetry, idle, GC. Used by `top` (marking), the rules, and the flamegraph colours.
import type { Frame } from '../model/types.js'

/**
 * Connection setup: connect / dial / handshake / TLS / QUIC / key exchange, classified by what a frame
 * IS, not by a substring of its name (`tokio::macros::scoped_tls::ScopedKey<T>::set` is thread-local
 * storage, not TLS):
 * - library code by its crate / library / module: Rust `rustls::`, `tokio_rustls::`, `openssl::`,
 *   `ring::`, `webpki::`, `quinn::`...; C `SSL_*`, `ssl3_*`, `tls13_*`, ring's `GFp_*`; Go `crypto/tls.`;
 *   Node's TLS module (`node:_tls_wrap`, `TLSSocket`, `tls.connect`, `ssl.onhandshakedone`);
 * - any other function by the words of its own name and type (not of its module path): `connect_peer`,
 *   `joinPeers`, `do_handshake`, `tcp_v4_connect`, `net.Dial`; not `disconnect`, not the noun
 *   `Connection` alone (`MemcachedConnection::handleReads` is I/O on an established connection).
 */
export function isConnectFrame(f: Frame | string): boolean {
  const name = typeof f === 'string' ? f : f.name
  if (THREAD_LOCAL_RE.test(name)) return false
  if (typeof f !== 'string' && f.file !== undefined && NODE_TLS_FILE_RE.test(f.file)) return true
  if (CONNECT_LIB_NAME_RE.test(name)) return true
  const parts = frameParts(name)
  if (parts.crate !== undefined && CONNECT_CRATES.has(parts.crate)) return true
  // in a runtime crate only the function itself counts (`tokio::net::TcpStream::connect`), not its type's words
  if (parts.crate !== undefined && RUNTIME_CRATES.has(parts.crate)) return connectWords(words(parts.ident))
  return connectWords(words(parts.ident)) || (parts.type !== undefined && connectWords(words(parts.type)))
}

/** Crates (first path segment of a Rust / C++ name) whose code is TLS, QUIC or handshake work. */
const CONNECT_CRATES = new Set([
  'rustls', 'tokio_rustls', 'hyper_rustls', 'rustls_webpki', 'webpki', 'sct', 'ring', 'aws_lc_rs', 'aws_lc_sys',
  'openssl', 'openssl_sys', 'tokio_openssl', 'native_tls', 'tokio_native_tls', 'boring', 'boring_sys', 'tokio_boring', 'bssl',
  'quinn', 'quinn_proto', 's2n_quic', 's2n_tls', 'quiche', 'mbedtls', 'x509_parser', 'snow',
])

/** Crates of the runtime and the standard library: scaffolding, unless the function itself connects. */
const RUNTIME_CRATES = new Set(['std', 'core', 'alloc', 'tokio', 'futures', 'futures_util', 'futures_core', 'futures_executor', 'tracing', 'tracing_core', 'tracing_subscriber', 'async_std', 'smol', 'async_task', 'async_executor', 'mio', 'scoped_tls', 'thread_local'])

/** Library entry points by their library's own naming: OpenSSL / BoringSSL / LibreSSL, ring's C and asm, Go's crypto/tls, Node's TLS module, kernel TLS. */
const CONNECT_LIB_NAME_RE = /^(?:SSL_|ssl3_|ssl_do_handshake|tls1_|tls13_|tls_construct_|tls_process_|tls_post_process|tls_parse_|tls_handle_|tls_sw_|ossl_statem|statem_|dtls1_|X509_verify|ECDH_|GFp_|ring_core_|ecp_nistz256_|mbedtls_ssl|gnutls_|wolfSSL_|crypto\/(?:tls|x509|ecdh)\.|vendor\/golang\.org\/x\/crypto\/|TLSWrap|TLSSocket|tls\.|_tls|ssl\.|SecureContext|createSecureContext|onConnectSecure|afterConnect|onhandshakedone|onhandshakestart|onnewsession|onocspresponse)/

/** Thread-local storage, the other "TLS": glibc / ld.so, C++ thread_local wrappers, libgcc's emutls. */
const THREAD_LOCAL_RE = /^(?:_?__tls_get_addr|_dl_tls|_dl_allocate_tls|_dl_update_slotinfo|__libc_setup_tls|tls_get_addr_tail|__tls_init|__emutls_|TLS (?:init|wrapper) function for)/

/** Node's TLS modules, for frames that carry their file. */
const NODE_TLS_FILE_RE = /^node:(?:_tls_wrap|tls|_tls_common)$|(?:^|\/)lib\/(?:_tls_wrap|tls|_tls_common)\.js$/

/** Words of a function or type name: `connectPeer` -> connect, peer; `TLSSocket` -> tls, socket. */
function words(id: string): string[] {
  return id
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '')
}

const CONNECT_WORDS = new Set(['connect', 'connecting', 'dial', 'dialer', 'dialing', 'handshake', 'handshaking', 'tls', 'ssl', 'quic', 'x509', 'ecdh', 'ecdhe', 'keyshare', 'kex'])

function connectWords(ws: string[]): boolean {
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!
    if (CONNECT_WORDS.has(w)) return true
    const next = ws[i + 1]
    // join_peers / joinPeers: the incident's "idempotent" join; key_share / key_exchange; open_connection
    if (w === 'join' && (next === 'peer' || next === 'peers')) return true
    if (w === 'key' && (next === 'share' || next === 'exchange')) return true
    if (/^(establish|open|new|create|make)$/.test(w) && (next === 'connection' || next === 'connections')) return true
  }
  return false
}

/** A connect frame of a TLS / QUIC / crypto library or the runtime, as opposed to the program's own connect function. */
export function isConnectLibraryFrame(name: string): boolean {
  if (CONNECT_LIB_NAME_RE.test(name)) return true
  const c = frameParts(name).crate
  return c !== undefined && (CONNECT_CRATES.has(c) || RUNTIME_CRATES.has(c))
}

/** The server side of a TLS handshake, by library: rustls' server state machine, an acceptor, OpenSSL's accept. */
const SERVER_HANDSHAKE_RE = /(?:^|[<:\s])(?:rustls::server::|tokio_rustls::server::|tokio_rustls::Accept\b|tokio_rustls::TlsAcceptor|tokio_native_tls::TlsAcceptor|native_tls::TlsAcceptor|openssl::ssl::SslAcceptor|quinn::endpoint::Incoming|rustls::ServerConnection)|^(?:SSL_accept|ssl3_accept|tls_process_client_hello|tls_construct_server_)/

/** A frame of the server side of a TLS handshake (by library). */
export function isServerHandshakeFrame(name: string): boolean {
  return SERVER_HANDSHAKE_RE.test(name)
}

const ACCEPT_WORDS = new Set(['accept', 'accepting', 'acceptor', 'serve', 'server', 'listen', 'listener', 'incoming', 'inbound'])

/**
 * Work on the accepting side of a connection: a server-side handshake frame, or a program's function
 * named for accepting / serving (`accept_loop`, `serve_peer`, `handle_inbound`). Peers connecting in
 * cost this node handshakes it did not start.
 */
export function isAcceptSideFrame(name: string): boolean {
  if (SERVER_HANDSHAKE_RE.test(name)) return true
  const parts = frameParts(name)
  if (parts.crate !== undefined && (RUNTIME_CRATES.has(parts.crate) || CONNECT_CRATES.has(parts.crate))) return false
  return words(parts.ident).some((w) => ACCEPT_WORDS.has(w))
}

export interface FrameParts {
  /** First path segment of a `::` path (a Rust crate, a C++ namespace); undefined for other names. */
  crate?: string
  /** The type the function belongs to, when the segment before the function is a type (capitalised). */
  type?: string
  /** The function's own name, without `{{closure}}`, generics or a symbol hash. */
  ident: string
}

/**
 * What a frame name is made of: `<tokio_rustls::common::handshake::MidHandshake<IS> as
 * core::future::future::Future>::poll` -> crate tokio_rustls, type MidHandshake, ident poll;
 * `rust_node::Node::gossip_tick::{{closure}}` -> crate rust_node, type Node, ident gossip_tick;
 * `TLSSocket._start` -> type TLSSocket, ident _start.
 */
export function frameParts(name: string): FrameParts {
  let n = name.trim().replace(/::h[0-9a-f]{16}$/, '').replace(/(::)?\{\{[a-z_.]+\}\}(#\d+)?/g, '')
  // generic arguments go first (innermost out), so `<X<T> as Y>::m` reads as one owner
  for (let prev = ''; prev !== n; ) { prev = n; n = n.replace(/([\w\]])<[^<>]*>/g, '$1') }
  // `<Owner as Trait>::method` is Owner's method
  const qualified = /^<(.+?)(?: as [^>]*)?>(::.*)?$/.exec(n)
  if (qualified) n = qualified[1]! + (qualified[2] ?? '')
  const pathy = n.includes('::')
  const segs = n.split(pathy ? '::' : '.').map((x) => x.replace(/^[&*\s(]+|[)\s]+$/g, '')).filter((x) => x !== '')
  if (segs.length === 0) return { ident: n }
  const ident = segs[segs.length - 1]!
  const typeSeg = segs.length >= 2 ? segs[segs.length - 2]! : undefined
  return {
    ...(pathy && segs.length >= 2 ? { crate: segs[0]! } : {}),
    ...(typeSeg !== undefined && /^[A-Z]/.test(typeSeg) ? { type: typeSeg } : {}),
    ident,
  }
}

/**
 * Async-runtime and thread scaffolding: frames under every task or thread that say nothing about who
 * started the work: tokio's task polls (`Core<T,S>::poll`, `ScopedKey<T>::set`, `worker::run`),
 * `Instrumented<T>::poll`, std's thread start, libc's `start_thread`, futures' combinators.
 */
export function isScaffoldingFrame(name: string): boolean {
  if (/^(start_thread|clone3?|__clone3?|_start|__libc_start_main|__libc_start_call_main|\[unknown\]|\(anonymous\)|\(root\)|processTicksAndRejections|runMicrotasks)$/.test(name)) return true
  const c = frameParts(name).crate
  return c !== undefined && RUNTIME_CRATES.has(c)
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
