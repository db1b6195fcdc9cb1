// Connect / handshake / TLS classification by what a frame is (crate, library, the function's own
// words), the caller chain of async Rust, and the flamegraph colouring from the same predicate.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isAcceptSideFrame, isConnectFrame, isScaffoldingFrame } from '../../src/analyze/classify.js'
import { callerChain, callerInfo } from '../../src/analyze/rules/connect-storm.js'
import { ProfileBuilder } from '../../src/model/builder.js'
import { buildPayload } from '../../src/render/html/payload.js'

const CONNECT = [
  '<tokio_rustls::common::handshake::MidHandshake<IS> as core::future::future::Future>::poll',
  'tokio_rustls::common::Stream<IO,C>::handshake',
  '<rustls::client::hs::ExpectServerHello as rustls::conn::State<rustls::client::client_conn::ClientConnectionData>>::handle',
  'ring::ec::curve25519::x25519::x25519_ecdh',
  'GFp_x25519_scalar_mult_generic_masked',
  'openssl::ssl::SslStream<S>::connect',
  'SSL_do_handshake',
  'crypto/tls.(*Conn).Handshake',
  'net.(*Dialer).DialContext',
  'tokio::net::tcp::stream::TcpStream::connect::{{closure}}',
  'rust_node::Node::connect_peer::{{closure}}',
  'rust_node::Node::join_peers::{{closure}}',
  'iroh::endpoint::connect',
  'tls.connect', 'TLSSocket._start', 'ssl.onhandshakedone', 'afterConnect', 'joinPeers', 'connectPeer', 'createSecureContext',
  'tcp_v4_connect', '__x64_sys_connect', 'establish_connection', 'key_share',
]
const NOT_CONNECT = [
  'tokio::macros::scoped_tls::ScopedKey<T>::set', // thread-local storage, under every tokio task
  'std::thread::local::LocalKey<T>::with',
  '__tls_get_addr', '_dl_tls_static_surplus_init', 'TLS wrapper function for tl_state',
  'tokio::runtime::scheduler::multi_thread::worker::run',
  '<tracing::instrument::Instrumented<T> as core::future::future::Future>::poll',
  'rust_node::Node::gossip_tick::{{closure}}',
  'disconnect', 'reconnectPeer', 'MemcachedConnection::handleReads', 'runGossip', 'emit',
]

test('connect/handshake/TLS by crate, library and the function\'s own words; thread-local storage is not TLS', () => {
  for (const n of CONNECT) assert.equal(isConnectFrame(n), true, n)
  for (const n of NOT_CONNECT) assert.equal(isConnectFrame(n), false, n)
  // Node frames by their file: a TLS module function with a plain name
  assert.equal(isConnectFrame({ name: 'onConnectEnd', file: 'node:_tls_wrap', kind: 'js' }), true)
  assert.equal(isConnectFrame({ name: 'onConnectEnd', file: 'file:///app/x.js', kind: 'js' }), true)
  assert.equal(isConnectFrame({ name: 'emit', file: 'node:events', kind: 'js' }), false)
})

test('runtime scaffolding and the accepting side', () => {
  for (const n of ['tokio::runtime::task::core::Core<T,S>::poll', 'tokio::macros::scoped_tls::ScopedKey<T>::set', 'start_thread', '<tracing::instrument::Instrumented<T> as core::future::future::Future>::poll']) assert.ok(isScaffoldingFrame(n), n)
  for (const n of ['rust_node::Node::gossip_tick::{{closure}}', 'runGossip', 'main']) assert.ok(!isScaffoldingFrame(n), n)
  assert.ok(isAcceptSideFrame('rust_node::Node::accept_loop::{{closure}}::{{closure}}'))
  assert.ok(isAcceptSideFrame('<rustls::server::hs::ExpectClientHello as rustls::conn::State<rustls::server::server_conn::ServerConnectionData>>::handle'))
  assert.ok(!isAcceptSideFrame('tokio::net::tcp::listener::TcpListener::accept'), 'the runtime\'s accept is scaffolding, not the program\'s accept loop')
})

test('async Rust caller: the tick\'s async fn down to its own join, tokio\'s task poll left out', () => {
  const stack = [
    'tokio-runtime-w', 'start_thread', 'tokio::runtime::scheduler::multi_thread::worker::run', 'tokio::macros::scoped_tls::ScopedKey<T>::set',
    'tokio::runtime::task::core::Core<T,S>::poll', 'rust_node::main::{{closure}}::{{closure}}', 'rust_node::Node::gossip_tick::{{closure}}',
    '<tracing::instrument::Instrumented<T> as core::future::future::Future>::poll', 'rust_node::Node::gossip_tick::{{closure}}::{{closure}}',
    'rust_node::Node::join_peers::{{closure}}', 'rust_node::Node::connect_peer::{{closure}}', 'tokio_rustls::common::Stream<IO,C>::handshake', 'GFp_sha512_block_data_order_avx',
  ]
  const info = callerInfo(stack)!
  assert.equal(info.kind, 'tick, by name')
  assert.equal(callerChain(info.callers), 'rust_node::Node::gossip_tick -> join_peers')
  // an interval frame on the stack is the reason, and is not part of the caller
  const iv = callerInfo(['tokio::runtime::task::core::Core<T,S>::poll', 'tokio::time::interval::Interval::tick', 'app::refresh::{{closure}}', 'app::dial_all::{{closure}}', 'rustls::client::hs::emit_client_hello'])!
  assert.equal(iv.kind, 'interval frame')
  assert.equal(callerChain(iv.callers), 'app::refresh -> dial_all')
  // without any periodic frame, tokio's worker loop is not a "task loop"
  assert.equal(callerInfo(['tokio::runtime::scheduler::multi_thread::worker::Context::run_task', 'tokio::macros::scoped_tls::ScopedKey<T>::set', 'app::serve::{{closure}}', 'tokio_rustls::Accept<IO>::poll'])!.periodic, -1)
})

test('the flamegraph colours a frame as connect exactly when isConnectFrame says so', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { sourceFormat: 'folded' })
  const names = [...CONNECT, ...NOT_CONNECT]
  for (const n of names) b.addSample(b.stackFromFrames([b.internName('root'), b.internName(n)]), 1)
  const p = buildPayload(b.build())
  const seen = new Set<string>()
  for (let f = 0; f < p.fName.length; f++) {
    const name = p.strs[p.fName[f]!]!
    seen.add(name)
    assert.equal(p.fConn[f], isConnectFrame(name) ? 1 : 0, name)
  }
  assert.ok(names.every((n) => seen.has(n)))
  assert.ok(!('connect' in p), 'no name regex shipped to the page any more')
})
