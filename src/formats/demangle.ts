// Demangling of symbols that perf left mangled: Rust (legacy `_ZN...17h<hash>E` and v0 `_R...`)
// and C++ (Itanium `_Z...`).
//
// The full demanglers come from the npm package `gecko-profiler-demangle` (the Firefox
// profiler's: Rust's `rustc-demangle` + `cpp_demangle` compiled to WebAssembly, ~0.5 MB). It is
// loaded synchronously on the first mangled name (about 20 ms), never for profiles without one.
// Its bundler-style entry point cannot be imported by plain Node, so this file instantiates the
// .wasm itself with the same (tiny) glue. If the module cannot be loaded, the pure-TypeScript
// fallbacks below handle Rust legacy symbols and common C++ cases; anything else stays mangled.
//
// Also: names perf already demangled from Rust legacy symbols keep a `::h<16 hex>` hash suffix;
// `stripRustHash` removes it (as inferno does).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

interface WasmExports {
  memory: WebAssembly.Memory
  demangle_any(ptr: number, len: number): [number, number]
  __wbindgen_malloc(size: number, align: number): number
  __wbindgen_free(ptr: number, size: number, align: number): void
  __wbindgen_export_0: WebAssembly.Table
  __wbindgen_start(): void
}

let wasm: WasmExports | null | undefined
let wasmFailures = 0

function loadWasm(): WasmExports | null {
  if (wasm !== undefined) return wasm
  try {
    const req = createRequire(import.meta.url)
    const bytes = readFileSync(req.resolve('gecko-profiler-demangle/index_bg.wasm'))
    const mod = new WebAssembly.Module(bytes)
    let ex: WasmExports | undefined
    const inst = new WebAssembly.Instance(mod, {
      './index_bg.js': {
        __wbindgen_init_externref_table() {
          const table = ex!.__wbindgen_export_0
          const offset = table.grow(4)
          table.set(0, undefined)
          table.set(offset + 0, undefined)
          table.set(offset + 1, null)
          table.set(offset + 2, true)
          table.set(offset + 3, false)
        },
      },
    })
    ex = inst.exports as unknown as WasmExports
    ex.__wbindgen_start()
    wasm = ex
  } catch {
    wasm = null
  }
  return wasm
}

/** True when the WebAssembly demangler is available (loads it). */
export function hasWasmDemangler(): boolean {
  return loadWasm() !== null
}

function wasmDemangle(name: string): string | undefined {
  const w = loadWasm()
  if (!w) return undefined
  try {
    const bytes = Buffer.from(name, 'utf8')
    const ptr = w.__wbindgen_malloc(bytes.length, 1) >>> 0
    new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes)
    const [rp, rl] = w.demangle_any(ptr, bytes.length)
    const out = Buffer.from(new Uint8Array(w.memory.buffer, rp >>> 0, rl >>> 0)).toString('utf8')
    w.__wbindgen_free(rp, rl, 1)
    return out
  } catch {
    // A trap (Rust panic) leaves the instance in an unknown state: start a fresh one next time.
    wasmFailures++
    wasm = wasmFailures > 3 ? null : undefined
    return undefined
  }
}

const RUST_HASH = /::h[0-9a-f]{16}$/

/** `core::fmt::write::h0123456789abcdef` -> `core::fmt::write`. */
export function stripRustHash(name: string): string {
  return RUST_HASH.test(name) ? name.slice(0, -19) : name
}

const RUST_ESCAPES: Record<string, string> = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' }

function unescapeRustIdent(id: string): string {
  if (id.startsWith('_$')) id = id.slice(1)
  let out = ''
  for (let i = 0; i < id.length; ) {
    const c = id[i]!
    if (c === '$') {
      const end = id.indexOf('$', i + 1)
      if (end < 0) return out + id.slice(i)
      const code = id.slice(i + 1, end)
      let rep = RUST_ESCAPES[code]
      if (rep === undefined && /^u[0-9a-f]{1,6}$/.test(code)) rep = String.fromCodePoint(parseInt(code.slice(1), 16))
      if (rep === undefined) return out + id.slice(i)
      out += rep
      i = end + 1
    } else if (c === '.') {
      if (id[i + 1] === '.') {
        out += '::'
        i += 2
      } else {
        out += '.'
        i++
      }
    } else {
      out += c
      i++
    }
  }
  return out
}

/** Rust legacy mangling (`_ZN3foo3bar17h0123456789abcdefE`) -> `foo::bar`; undefined if not one. */
export function demangleRustLegacy(sym: string): string | undefined {
  let s: string
  if (sym.startsWith('_ZN')) s = sym.slice(3)
  else if (sym.startsWith('__ZN')) s = sym.slice(4)
  else if (sym.startsWith('ZN')) s = sym.slice(2)
  else return undefined
  const parts: string[] = []
  let i = 0
  while (i < s.length && s[i] !== 'E') {
    let j = i
    while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++
    if (j === i || j - i > 6) return undefined
    const len = parseInt(s.slice(i, j), 10)
    if (len === 0 || j + len > s.length) return undefined
    parts.push(s.slice(j, j + len))
    i = j + len
  }
  if (i >= s.length) return undefined
  const rest = s.slice(i + 1)
  if (rest !== '' && !rest.startsWith('.')) return undefined
  if (parts.length < 2 || !/^h[0-9a-f]{16}$/.test(parts[parts.length - 1]!)) return undefined
  parts.pop()
  for (const p of parts) if (!/^[A-Za-z0-9_$.]+$/.test(p)) return undefined
  return parts.map(unescapeRustIdent).join('::')
}

// ---- A small Itanium C++ demangler for the common cases (fallback only) ----------------------

const BUILTIN: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short', t: 'unsigned short',
  i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long', y: 'unsigned long long', n: '__int128',
  o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double', g: '__float128', z: '...',
}
const STD_SUBST: Record<string, string> = {
  St: 'std', Sa: 'std::allocator', Sb: 'std::basic_string', Ss: 'std::string', Si: 'std::istream', So: 'std::ostream', Sd: 'std::iostream',
}

class CxxParser {
  pos = 0
  subs: string[] = []
  constructor(readonly s: string) {}
  peek(n = 0): string {
    return this.s[this.pos + n] ?? ''
  }
  fail(): never {
    throw new Error('unsupported')
  }
  number(): number {
    const st = this.pos
    while (/[0-9]/.test(this.peek())) this.pos++
    if (st === this.pos) this.fail()
    return parseInt(this.s.slice(st, this.pos), 10)
  }
  sourceName(): string {
    const n = this.number()
    if (this.pos + n > this.s.length) this.fail()
    const id = this.s.slice(this.pos, this.pos + n)
    this.pos += n
    return id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id
  }
  substitution(): string {
    // S_ S0_ S1_ ... or the std abbreviations.
    const two = this.s.slice(this.pos, this.pos + 2)
    if (STD_SUBST[two] !== undefined) {
      this.pos += 2
      return STD_SUBST[two]!
    }
    this.pos++ // S
    let idx = 0
    if (this.peek() !== '_') {
      const st = this.pos
      while (/[0-9A-Z]/.test(this.peek())) this.pos++
      idx = parseInt(this.s.slice(st, this.pos), 36) + 1
    }
    if (this.peek() !== '_') this.fail()
    this.pos++
    const v = this.subs[idx]
    if (v === undefined) this.fail()
    return v
  }
  templateArgs(): string {
    this.pos++ // I
    const args: string[] = []
    while (this.peek() !== 'E') {
      if (this.pos >= this.s.length) this.fail()
      if (this.peek() === 'L') {
        this.pos++
        const t = this.type()
        const neg = this.peek() === 'n' ? (this.pos++, '-') : ''
        const v = this.number()
        if (this.peek() !== 'E') this.fail()
        this.pos++
        args.push(t === 'bool' ? (v ? 'true' : 'false') : `${neg}${v}`)
      } else args.push(this.type())
    }
    this.pos++
    const inner = args.join(', ')
    return `<${inner}${inner.endsWith('>') ? ' ' : ''}>`
  }
  unqualified(prefix: string): string {
    const c = this.peek()
    if (/[0-9]/.test(c)) return this.sourceName()
    if (c === 'C' && /[1-3]/.test(this.peek(1))) {
      this.pos += 2
      return lastComponent(prefix)
    }
    if (c === 'D' && /[0-2]/.test(this.peek(1))) {
      this.pos += 2
      return '~' + lastComponent(prefix)
    }
    this.fail()
  }
  nestedName(): string {
    this.pos++ // N
    let cv = ''
    while (/[rVK]/.test(this.peek())) {
      if (this.peek() === 'K') cv = ' const'
      this.pos++
    }
    let name = ''
    while (this.peek() !== 'E') {
      if (this.pos >= this.s.length) this.fail()
      if (this.peek() === 'S') name = this.substitution()
      else if (this.peek() === 'I') {
        name += this.templateArgs()
        this.subs.push(name)
        continue
      } else {
        const part = this.unqualified(name)
        name = name ? `${name}::${part}` : part
      }
      this.subs.push(name)
    }
    this.pos++
    this.cvSuffix = cv
    return name
  }
  cvSuffix = ''
  name(): string {
    const c = this.peek()
    if (c === 'N') return this.nestedName()
    let n: string
    if (c === 'S') {
      n = this.substitution()
      if (/[0-9]/.test(this.peek())) n = `${n}::${this.sourceName()}`
    } else n = this.unqualified('')
    if (this.peek() === 'I') {
      this.subs.push(n)
      n += this.templateArgs()
    }
    return n
  }
  type(): string {
    const c = this.peek()
    if (BUILTIN[c] !== undefined) {
      this.pos++
      return BUILTIN[c]!
    }
    let t: string
    if (c === 'P') { this.pos++; t = this.type() + '*' }
    else if (c === 'R') { this.pos++; t = this.type() + '&' }
    else if (c === 'O') { this.pos++; t = this.type() + '&&' }
    else if (c === 'K') { this.pos++; t = this.type() + ' const' }
    else if (c === 'S' && /[0-9A-Z_]/.test(this.peek(1))) return this.substitution()
    else t = this.name()
    this.subs.push(t)
    return t
  }
}

function lastComponent(name: string): string {
  const noTpl = name.replace(/<.*>$/, '')
  const i = noTpl.lastIndexOf('::')
  return i >= 0 ? noTpl.slice(i + 2) : noTpl
}

/** Common Itanium C++ symbols (`_Z5gammav` -> `gamma()`); undefined when unsupported. */
export function demangleCxxBasic(sym: string): string | undefined {
  let s = sym
  if (s.startsWith('__Z')) s = s.slice(1)
  if (!s.startsWith('_Z') || s.length > 4096) return undefined
  const dot = s.indexOf('.')
  const clone = dot > 0 ? s.slice(dot) : ''
  if (dot > 0) s = s.slice(0, dot)
  const p = new CxxParser(s)
  p.pos = 2
  try {
    const name = p.name()
    const cv = p.cvSuffix
    if (p.pos >= s.length) return name + (clone ? ` [clone ${clone}]` : '')
    // Template functions carry a return type first: not handled by this fallback.
    if (name.endsWith('>')) return undefined
    const params: string[] = []
    while (p.pos < s.length) params.push(p.type())
    const list = params.length === 1 && params[0] === 'void' ? '' : params.join(', ')
    return `${name}(${list})${cv}${clone ? ` [clone ${clone}]` : ''}`
  } catch {
    return undefined
  }
}

// ---- Entry point ---------------------------------------------------------------------------

// Itanium `_Z` (macOS `__Z`); Rust v0 `_R` + optional version + an uppercase path tag.
const MANGLED = /^(?:_{1,2}Z|_R[0-9]*[NCMXYIB])/

/** True when a symbol looks mangled (Itanium `_Z`, macOS `__Z`, Rust v0 `_R`). */
export function looksMangled(name: string): boolean {
  return MANGLED.test(name)
}

const cache = new Map<string, string>()

/**
 * Demangle one symbol if it is mangled (Rust legacy / v0, C++ Itanium); strip a leftover Rust
 * `::h<hash>`. Anything else comes back unchanged. Never throws.
 */
export function demangle(name: string): string {
  if (!looksMangled(name)) return name.includes('::h') ? stripRustHash(name) : name
  let hit = cache.get(name)
  if (hit !== undefined) return hit
  // perf / the linker add suffixes the demanglers do not know: "@plt", "@@GLIBC_2.2.5".
  const at = name.indexOf('@')
  const core = at > 0 ? name.slice(0, at) : name
  const tail = at > 0 ? name.slice(at) : ''
  let out = wasmDemangle(core)
  if (out === undefined || out === core) out = demangleRustLegacy(core) ?? demangleCxxBasic(core) ?? core
  hit = out === core ? name : out + tail
  if (cache.size < 200000) cache.set(name, hit)
  return hit
}
