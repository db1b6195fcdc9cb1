// Demangling of symbols that perf left mangled: Rust (legacy `_ZN...17h<hash>E` and v0 `_R...`)
// and C++ (Itanium `_Z...`), by the npm package `gecko-profiler-demangle` (the Firefox profiler's:
// `rustc-demangle` + `cpp_demangle` compiled to WebAssembly, ~0.5 MB).
//
// The package's entry point imports its .wasm as an ES module (the WebAssembly/ES-module integration
// that bundlers and `node --experimental-wasm-modules` provide); plain Node 20 cannot import it. So
// this file does what that integration does for the package's entry point: the .wasm is instantiated
// with the package's own glue module (`index_bg.js`) as the import named in the .wasm, the entry point's
// two calls are made, and every name goes through the glue's public `demangle_any`. It is compiled on
// the first mangled name (about 20 ms), never for profiles without one.
//
// Also: names perf already demangled from Rust legacy symbols keep a `::h<16 hex>` hash suffix;
// `stripRustHash` removes it (as inferno does).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as glue from 'gecko-profiler-demangle/index_bg.js'

/** undefined: not loaded yet; null: could not load (a broken install) or trapped; names stay as they are. */
let loaded: boolean | null | undefined

function load(): boolean {
  if (loaded !== undefined) return loaded === true
  try {
    const bytes = readFileSync(createRequire(import.meta.url).resolve('gecko-profiler-demangle/index_bg.wasm'))
    const mod = new WebAssembly.Module(bytes)
    // Each import module the .wasm names is the glue module (it names only './index_bg.js').
    const imports: WebAssembly.Imports = {}
    for (const { module } of WebAssembly.Module.imports(mod)) imports[module] = glue as unknown as WebAssembly.ModuleImports
    const instance = new WebAssembly.Instance(mod, imports)
    // What the package's index.js does once its .wasm is imported:
    glue.__wbg_set_wasm(instance.exports)
    ;(instance.exports.__wbindgen_start as () => void)()
    loaded = true
  } catch {
    loaded = null
  }
  return loaded === true
}

/** True when the WebAssembly demangler is available (loads it). */
export function hasWasmDemangler(): boolean {
  return load()
}

function wasmDemangle(name: string): string | undefined {
  if (!load()) return undefined
  try {
    return glue.demangle_any(name)
  } catch {
    // A trap (a Rust panic) leaves the instance in an unknown state, and the glue keeps views of its
    // memory: stop demangling rather than trust it (names stay mangled, as without the package).
    loaded = null
    return undefined
  }
}

const RUST_HASH = /::h[0-9a-f]{16}$/

/** `core::fmt::write::h0123456789abcdef` -> `core::fmt::write`. */
export function stripRustHash(name: string): string {
  return RUST_HASH.test(name) ? name.slice(0, -19) : name
}

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
  const out = wasmDemangle(core) ?? core
  hit = out === core ? name : out + tail
  if (cache.size < 200000) cache.set(name, hit)
  return hit
}
