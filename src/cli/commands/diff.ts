// `meshprof diff <before> <after>`: headline, ranked deltas, --json, --difffolded, --html,
// --fail-on-regression. The handler maps argv onto DiffCommandOptions and calls run(); all logic is
// in src/diff (model) and src/render/diff.ts (terminal).
import type { CommandModule } from 'yargs'
import { processIo, type Io } from '../io.js'
import { loadOptions, regexOption, withFilterOptions, withInputOptions, writeOutput, type FilterArgs, type InputArgs } from '../common.js'
import { EXIT, UsageError } from '../../util/errors.js'
import type { DiffBy, DiffInput, DiffResult } from '../../diff/types.js'
import { termSafe } from '../../render/style.js'
import { checkOpenTarget, openPage } from '../open-page.js'

interface DiffArgs extends InputArgs, FilterArgs {
  before: string
  after: string
  by: DiffBy
  sort: 'total' | 'self'
  limit: number
  basis: 'auto' | 'shares' | 'cores'
  'strip-lines'?: boolean
  'strip-hex'?: boolean
  json?: boolean
  difffolded?: boolean
  normalize?: boolean
  html?: string
  title?: string
  'fail-on-regression'?: number
  findings?: boolean
  open?: boolean
  heap?: boolean
}

/** Defaults, declared once: yargs help and run() both read them. */
export const DIFF_DEFAULTS = { by: 'function' as DiffBy, sort: 'total' as const, limit: 20, basis: 'auto' as const }

export interface DiffCommandOptions {
  before: string
  after: string
  by: DiffBy
  sort: 'total' | 'self'
  /** Table / JSON rows (0 = all). */
  limit: number
  basis: 'auto' | 'shares' | 'cores'
  /** undefined = auto (strip only when one side has no file/line). */
  stripLines?: boolean
  stripHex: boolean
  output: 'table' | 'json' | 'difffolded'
  normalize: boolean
  html?: string
  /** Open the --html page in the browser. */
  open?: boolean
  title?: string
  failOnRegression?: number
  /** Run analyze's rules on both sides (resolved / new / unchanged). Default true. */
  findings: boolean
  focus?: RegExp
  ignore?: RegExp
  hide?: RegExp
  thread?: RegExp
  input: InputArgs
}

/**
 * yargs reports a bad `choices` value only after the handler has run, so check them here first:
 * a bad value is a usage error (exit 2) before any file is read.
 */
function choice<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T
  throw new UsageError(`--${name}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`)
}

/** yargs-parser turns a lone `-` positional into '' (or true for untyped ones): it means stdin. */
function pathArg(v: unknown): string {
  return v === '' || v === true ? '-' : String(v)
}

export function toOptions(a: DiffArgs): DiffCommandOptions {
  a.before = pathArg(a.before)
  a.after = pathArg(a.after)
  const by = choice('by', a.by, ['function', 'file', 'module'] as const)
  const sort = choice('sort', a.sort, ['total', 'self'] as const)
  const basis = choice('basis', a.basis, ['auto', 'shares', 'cores'] as const)
  if (a.json && a.difffolded) throw new UsageError('--json and --difffolded are exclusive')
  if (a.normalize && !a.difffolded) throw new UsageError('--normalize applies to --difffolded output only')
  if (a.before === '-' && a.after === '-') throw new UsageError('only one side can be read from stdin')
  const fr = a['fail-on-regression']
  if (fr !== undefined && !(typeof fr === 'number' && Number.isFinite(fr) && fr >= 0)) throw new UsageError('--fail-on-regression takes a number >= 0 (percent / percentage points)')
  checkOpenTarget(a.open, a.html, '--html')
  if (!Number.isInteger(a.limit) || a.limit < 0) throw new UsageError('--limit takes an integer >= 0')
  return {
    before: a.before,
    after: a.after,
    by,
    sort,
    limit: a.limit,
    basis,
    stripLines: a['strip-lines'],
    stripHex: Boolean(a['strip-hex']),
    output: a.json ? 'json' : a.difffolded ? 'difffolded' : 'table',
    normalize: Boolean(a.normalize),
    ...(a.html !== undefined ? { html: a.html } : {}),
    ...(a.open ? { open: true } : {}),
    ...(a.title !== undefined ? { title: a.title } : {}),
    ...(fr !== undefined ? { failOnRegression: fr } : {}),
    findings: a.findings !== false,
    focus: regexOption('focus', a.focus),
    ignore: regexOption('ignore', a.ignore),
    hide: regexOption('hide', a.hide),
    thread: regexOption('thread', a.thread),
    input: a,
  }
}

/** What run() computed; tests and callers can inspect it. */
export interface DiffRunResult {
  result: DiffResult
  regressed: boolean
}

export async function run(o: DiffCommandOptions, io: Io): Promise<DiffRunResult> {
  const { loadDiffInput, mergedProfile } = await import('../../diff/inputs.js')
  const { diff } = await import('../../diff/index.js')
  const { diffFindings, loadAnalyzer } = await import('../../diff/findings.js')
  const { findRegressions } = await import('../../diff/regression.js')
  const { filterProfile } = await import('../../model/ops.js')
  const lo = loadOptions(o.input, io)
  const before = await loadDiffInput(o.before, lo)
  const after = await loadDiffInput(o.after, lo)
  const result = diff(before, after, {
    by: o.by,
    sort: o.sort,
    basis: o.basis,
    stripLines: o.stripLines ?? 'auto',
    stripHex: o.stripHex,
    focus: o.focus,
    ignore: o.ignore,
    hide: o.hide,
    thread: o.thread,
  })
  try {
    // difffolded lines carry no findings: skip the rules there.
    if (o.findings && o.output !== 'difffolded') result.findings = await diffFindings(before, after, await loadAnalyzer())
  } catch (e) {
    // A failing rule must not cost the user the diff itself; say so instead.
    result.warnings.push(`findings unavailable: ${(e as Error)?.message ?? String(e)}`)
  }

  const filtered = (side: DiffInput): DiffInput =>
    o.focus || o.ignore || o.hide || o.thread
      ? { ...side, nodes: side.nodes.map((n) => ({ ...n, profile: filterProfile(n.profile, { focus: o.focus, ignore: o.ignore, hide: o.hide, thread: o.thread }) })) }
      : side

  if (o.html) {
    // The flamegraph page (same template, escaping and browser tests as `meshprof flamegraph`).
    const { renderDiffFlamegraphHtml } = await import('../../render/html/flamegraph.js')
    const html = renderDiffFlamegraphHtml(mergedProfile(filtered(before)), mergedProfile(filtered(after)), {
      title: o.title ?? `meshprof diff: ${o.before} -> ${o.after}`,
      stripLines: result.stripLines,
      // Colour by the same basis as the headline: absolute CPU when both sides have it.
      normalize: result.basis === 'cores' ? 'absolute' : 'share',
    })
    await writeOutput(o.html, html)
    if (io.verbose) io.err(`meshprof: wrote ${o.html}\n`)
    if (o.open) await openPage(o.html, io)
  }

  const regressions = o.failOnRegression !== undefined ? findRegressions(result, o.failOnRegression) : []

  if (o.output === 'difffolded') {
    const { stackDiff, toDiffFolded } = await import('../../diff/stacks.js')
    io.out(toDiffFolded(stackDiff(mergedProfile(filtered(before)), mergedProfile(filtered(after)), { stripHex: o.stripHex, normalize: o.normalize })))
  } else if (o.output === 'json') {
    const rows = o.limit > 0 ? result.rows.slice(0, o.limit) : result.rows
    const json = {
      ...result,
      // Infinity (growth from zero) has no JSON form: null, documented in docs/diff.md.
      cpu: { ...result.cpu, change: Number.isFinite(result.cpu.change) ? result.cpu.change : null },
      rowCount: result.rows.length,
      rows,
      ...(o.failOnRegression !== undefined
        ? { regression: { threshold: o.failOnRegression, regressed: regressions.length > 0, items: regressions.map((r) => ({ ...r, growth: Number.isFinite(r.growth) ? r.growth : null })) } }
        : {}),
    }
    io.out(JSON.stringify(json, null, 2) + '\n')
  } else {
    const { renderDiff } = await import('../../render/diff.js')
    io.out(renderDiff(result, { style: io.style, limit: o.limit }))
  }

  if (regressions.length > 0) {
    const shown = regressions.slice(0, 3).map((r) => r.message).join('; ')
    io.err(`meshprof: regression: ${termSafe(shown)}${regressions.length > 3 ? `; and ${regressions.length - 3} more` : ''}\n`)
  }
  return { result, regressed: regressions.length > 0 }
}

/** --heap: what retained memory grew, by allocation site (src/diff/heap.ts). */
async function runHeap(a: DiffArgs, io: Io): Promise<void> {
  for (const o of ['html', 'difffolded', 'fail-on-regression', 'focus', 'ignore', 'hide', 'thread'] as const) {
    if ((a as unknown as Record<string, unknown>)[o] !== undefined) throw new UsageError(`--heap does not combine with --${o}`)
  }
  if (!Number.isInteger(a.limit) || a.limit < 0) throw new UsageError('--limit takes an integer >= 0')
  const { heapDiff } = await import('../../diff/heap.js')
  const d = await heapDiff(pathArg(a.before), pathArg(a.after), loadOptions(a, io))
  if (a.json) {
    io.out(JSON.stringify({ ...d, rowCount: d.rows.length, rows: a.limit > 0 ? d.rows.slice(0, a.limit) : d.rows }, null, 2) + '\n')
    return
  }
  const { renderHeapDiff } = await import('../../render/heap-diff.js')
  io.out(renderHeapDiff(d, { style: io.style, limit: a.limit }))
}

const cmd: CommandModule<object, DiffArgs> = {
  command: 'diff <before> <after>',
  describe: 'compare two profiles (any formats) or two capture directories: headline, ranked deltas, differential flamegraph',
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('before', { type: 'string', demandOption: true, describe: 'profile file or capture directory (the baseline)' })
      .positional('after', { type: 'string', demandOption: true, describe: 'profile file or capture directory (the change)' })
      .option('by', { choices: ['function', 'file', 'module'] as const, default: DIFF_DEFAULTS.by, describe: 'group rows by' })
      .option('sort', { choices: ['total', 'self'] as const, default: DIFF_DEFAULTS.sort, describe: 'rank rows by |change| of total or of self' })
      .option('limit', { alias: 'n', type: 'number', default: DIFF_DEFAULTS.limit, describe: 'rows to show (0 = all)' })
      .option('basis', { choices: ['auto', 'shares', 'cores'] as const, default: DIFF_DEFAULTS.basis, describe: 'cores (absolute CPU) when both sides have duration + CPU time, else shares' })
      .option('strip-lines', { type: 'boolean', describe: 'match functions by name only, ignoring file/line (default: only when one side has none)' })
      .option('strip-hex', { type: 'boolean', describe: 'treat 0x... addresses in names as equal (difffolded.pl -s)' })
      .option('json', { type: 'boolean', describe: 'machine-readable output (schema: docs/diff.md)' })
      .option('difffolded', { type: 'boolean', describe: 'print "stack before after" lines (difffolded.pl / inferno-diff-folded format)' })
      .option('normalize', { type: 'boolean', describe: 'with --difffolded: scale before counts to the after total (difffolded.pl -n)' })
      .option('html', { type: 'string', describe: 'also write a differential flamegraph to this HTML file' })
      .option('title', { type: 'string', describe: 'title of the --html page' })
      .option('open', { type: 'boolean', describe: 'open the --html page in your browser ($BROWSER, else the system default)' })
      .option('heap', { type: 'boolean', describe: 'compare live heap by allocation site (captures taken with --heap) instead of CPU' })
      .option('findings', { type: 'boolean', default: true, describe: 'run analyze\'s rules on both sides (--no-findings skips them)' })
      .option('fail-on-regression', { type: 'number', describe: 'exit 1 if CPU grew > PCT (% in cores, pp in shares) or any function\'s total share grew > PCT pp' }) as never,
  handler: async (a) => {
    const io = processIo(a)
    if (a.heap) return runHeap(a, io)
    const r = await run(toOptions(a), io)
    if (r.regressed) process.exitCode = EXIT.FINDINGS
  },
}
export default cmd
