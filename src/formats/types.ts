import type { Profile } from '../model/types.js'
import type { InputSource } from './source.js'

export type FormatId = 'capture' | 'pprof' | 'cpuprofile' | 'speedscope' | 'perf-script' | 'folded'

/** Options of the perf-script importer, named like stackcollapse-perf.pl's. All default false. */
export interface PerfOptions {
  /** Append the pid to the process name (`--pid`). */
  pid?: boolean
  /** Append pid/tid to the process name (`--tid`). */
  tid?: boolean
  /** Annotate kernel frames with `_[k]` (`--kernel`). */
  kernel?: boolean
  /** Annotate JIT frames with `_[j]` (`--jit`). */
  jit?: boolean
  /** All annotations (`--all`: kernel + jit + inline). */
  all?: boolean
  /** Include raw addresses where symbols are unknown (`--addrs`). */
  addrs?: boolean
  /** Keep only this event (`--event-filter`); default: the first event type seen. */
  eventFilter?: string
  /** Annotate inlined frames with `_[i]` (`--inline` annotation part of --all). */
  inline?: boolean
  /**
   * Drop the last sample when the file does not end with a blank line, exactly like
   * stackcollapse-perf.pl does. Default false: meshprof keeps every sample.
   */
  dropUnterminatedLast?: boolean
  /** Demangle Rust / C++ symbols that perf left mangled. Default true for the model, false for `fold` parity. */
  demangle?: boolean
}

export interface ImportOptions {
  /** pprof: which sample type becomes the default value (`--sample-type`). */
  sampleType?: string
  perf?: PerfOptions
  /** Non-fatal problems (skipped lines, ...) go here, never to the console directly. */
  warn?: (message: string) => void
}

export interface Importer {
  readonly id: FormatId
  readonly title: string
  /** True when the head of the (decompressed) content looks like this format. Never throws. */
  sniff(head: Buffer, text: string): boolean
  /** Parse the whole input. Throws MalformedInputError when the content is broken. */
  parse(input: InputSource, options: ImportOptions): Promise<Profile[]>
}
