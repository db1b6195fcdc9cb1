import { test } from 'node:test'
import assert from 'node:assert/strict'
import { demangle, hasWasmDemangler, looksMangled, stripRustHash } from '../../src/formats/demangle.js'

test('the WebAssembly demangler (gecko-profiler-demangle) loads in plain Node', () => {
  assert.equal(hasWasmDemangler(), true)
})

test('Rust legacy symbols lose the hash', () => {
  assert.equal(demangle('_ZN4core3fmt5write17h0123456789abcdefE'), 'core::fmt::write')
  assert.equal(demangle('_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h9fa3e1d3b1a8c4f2E'), 'std::rt::lang_start::{{closure}}')
  assert.equal(
    demangle('_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h0123456789abcdefE'),
    '<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop',
  )
})

test('Rust v0 symbols', () => {
  assert.equal(demangle('_RNvCs15kBYyAo9fc_7mycrate7example'), 'mycrate::example')
  // generic impl with a closure: v0's backrefs and instantiating crates
  assert.equal(demangle('_RNCNvCsgStHSCytQ6I_7mycrate4main0B3_'), 'mycrate::main::{closure#0}')
})

test('C++ Itanium symbols, clone suffixes and @plt', () => {
  assert.equal(demangle('_Z5gammav'), 'gamma()')
  assert.equal(demangle('_ZNSt6vectorIiSaIiEE9push_backERKi'), 'std::vector<int, std::allocator<int> >::push_back(int const&)')
  assert.equal(demangle('_ZN3foo3barEv.cold'), 'foo::bar() [clone .cold]')
  assert.equal(demangle('_Znwm@plt'), 'operator new(unsigned long)@plt')
  // shapes a small hand-written demangler got wrong or left alone: template functions, operators, lambdas
  assert.equal(demangle('_Z1fIiEvT_'), 'f<int>(int)', 'cpp_demangle leaves the return type out')
  assert.equal(demangle('_ZNK3foo3getEv'), 'foo::get() const')
  assert.equal(demangle('_ZN3FooD0Ev'), 'Foo::~Foo()')
  assert.equal(demangle('_ZZ4mainENKUlvE_clEv'), 'main::{lambda()#1}::operator()() const')
})

test('plain names pass through; perf-demangled Rust names lose a leftover hash', () => {
  for (const n of ['main', '__libc_start_main', '[unknown]', 'Perl_pp_or', '_start', 'std::vector<int>::push_back', '_Rb_tree_insert_and_rebalance']) {
    assert.equal(demangle(n), n)
  }
  assert.equal(demangle('dcpu::emulator::cpu::Cpu::tick::h6ebd2d9d6fa7ef2e'), 'dcpu::emulator::cpu::Cpu::tick')
  assert.equal(stripRustHash('a::b::h0123456789abcdef'), 'a::b')
  assert.equal(stripRustHash('a::b::hxyz'), 'a::b::hxyz')
  assert.equal(looksMangled('_ZN1a1bE'), true)
  assert.equal(looksMangled('main'), false)
})

test('garbage never throws and comes back unchanged', () => {
  let seed = 42
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const alphabet = '_ZNRE0123456789abcIvSKPrtd$.@'
  for (let i = 0; i < 2000; i++) {
    let s = rnd() < 0.5 ? '_Z' : '_R'
    const n = Math.floor(rnd() * 30)
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)]
    const out = demangle(s)
    assert.equal(typeof out, 'string')
    assert.ok(out.length > 0)
  }
  assert.equal(typeof demangle('_Z' + 'N1a'.repeat(5000) + 'E'), 'string')
})
