import type { Profile } from '../model/types.js'
import type { InputSource } from './source.js'

/** An importer's id ('pprof', 'v8-prof', ...): the registry (formats/detect.ts FORMATS) is the list. */
export type FormatId = string

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

export interface LoadOptions extends ImportOptions {
  /** Force a format instead of detecting it (`--format`). */
  format?: string
  /** Called with the detected format id of every file read (`--verbose`), folder members included. */
  onDetect?: (file: string, format: FormatId, gzipped: boolean) => void
}

export interface Loaded {
  format: FormatId
  profiles: Profile[]
}

/** A directory handed to importers' readDirectory: its entries, and their heads on demand. */
export interface DirectoryListing {
  readonly path: string
  /** Entry names (files and sub-directories), sorted. */
  readonly names: readonly string[]
  /** Head of a regular file in it (decompressed, as sniff() sees it); undefined for anything else. */
  head(name: string): Promise<{ head: Buffer; text: string } | undefined>
}

/**
 * What the registry lends an importer, so that importers never import the registry (no circle):
 * loading another file (a capture's raw profile, a member of a folder) goes through `load`.
 */
export interface ImportContext {
  load(path: string, options: LoadOptions): Promise<Loaded>
}

export interface Importer {
  readonly id: FormatId
  readonly title: string
  /** True when the head of the (decompressed) content looks like this format. Never throws. */
  sniff(head: Buffer, text: string): boolean
  /**
   * Parse the whole input. Throws MalformedInputError when the content is broken. `ctx` is always
   * given by the registry's loader; only importers that read other files need it.
   */
  parse(input: InputSource, options: ImportOptions, ctx?: ImportContext): Promise<Profile[]>
  /**
   * Optional: read a directory written by this format's tool as a whole (a capture directory, a
   * `<pid>.0x/` folder). Undefined when the directory is not one; an error when it is one but
   * lacks what it needs.
   */
  readDirectory?(dir: DirectoryListing, options: LoadOptions, ctx: ImportContext): Promise<Profile[] | undefined>
}
