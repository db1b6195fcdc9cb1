// meshprof as a library: the steps of the CLI, typed, without the terminal.
//
//   import { loadProfile, top, analyze, diff, renderFlamegraphHtml, capture } from 'meshprof'
//
// Everything here is also what the CLI calls; errors are MeshprofError with the CLI's exit code in
// `exitCode` (EXIT). Deeper modules (dist/src/...) are not part of the public API.
import { loadProfile, loadProfiles, FORMAT_IDS, type LoadOptions, type Loaded } from './formats/index.js'
import { rank, type RankOptions, type RankResult, type RankRow } from './analyze/rank.js'
import { analyzeProfile, analyzeProfiles, RULES, SCHEMA_VERSION, type AnalyzeOptions, type AnalysisReport, type AnalyzedInput, type Finding, type Severity } from './analyze/index.js'
import { loadUserRules, parseUserRules } from './analyze/rules/user-rules.js'
import { diff as diffInputs } from './diff/index.js'
import { loadDiffInput } from './diff/inputs.js'
import { diffFindings, loadAnalyzer } from './diff/findings.js'
import { DIFF_SCHEMA_VERSION, type DiffInput, type DiffOptions, type DiffResult } from './diff/types.js'
import { renderFlamegraphHtml, renderDiffFlamegraphHtml, type FlamegraphHtmlOptions, type DiffFlamegraphHtmlOptions } from './render/html/flamegraph.js'
import { capture, type CaptureOptions, type CaptureOutcome, type TargetResult } from './capture/session.js'
import { runWithAgent, type RunOptions, type RunOutcome } from './capture/run.js'
import type { Profile, Frame, FrameKind, ProfileMeta, ValueType, NetworkEvidence } from './model/types.js'
import { EXIT, MeshprofError } from './util/errors.js'
import { VERSION } from './version.js'

export { VERSION, EXIT, MeshprofError, FORMAT_IDS, RULES, SCHEMA_VERSION, DIFF_SCHEMA_VERSION }
export type { Profile, Frame, FrameKind, ProfileMeta, ValueType, NetworkEvidence, LoadOptions, Loaded }
export type { RankOptions, RankResult, RankRow, AnalyzeOptions, AnalysisReport, AnalyzedInput, Finding, Severity }
export type { DiffInput, DiffOptions, DiffResult, FlamegraphHtmlOptions, DiffFlamegraphHtmlOptions }
export type { CaptureOptions, CaptureOutcome, TargetResult, RunOptions, RunOutcome }

/** Read any profile meshprof reads (format detected from the content, gzip or not) as one profile. */
export { loadProfile, loadProfiles }

/** Hot frames by self or total (`meshprof top`). */
export function top(profile: Profile, options: RankOptions = {}): RankResult {
  return rank(profile, options)
}

/** The findings of the built-in rules (and `options.rules`) on one profile, most costly first (`meshprof analyze`). */
export function analyze(profile: Profile, options: AnalyzeOptions = {}): Finding[] {
  return analyzeProfile(profile, options)
}

/** Several profiles (a mesh): per-profile findings plus the cross-capture checks, as `analyze --json` prints. */
export { analyzeProfiles }

/** User rules (JSON or YAML text, or a file) for `AnalyzeOptions.rules`. */
export { parseUserRules, loadUserRules }

/** One side of `diff`: a path (a profile file or a capture directory) or an already loaded profile. */
export type DiffSide = string | Profile

export interface LibraryDiffOptions extends DiffOptions, Pick<LoadOptions, 'format' | 'sampleType'> {
  /** Run the analyze rules on both sides (resolved / new findings). Default true. */
  findings?: boolean
}

function sideOf(side: DiffSide, load: LoadOptions): Promise<DiffInput> {
  if (typeof side === 'string') return loadDiffInput(side, load)
  const name = side.meta.name ?? (side.meta.pid !== undefined ? `pid ${side.meta.pid}` : 'profile')
  return Promise.resolve({ label: name, nodes: [{ name, file: name, format: side.meta.sourceFormat ?? 'profile', profile: side }] })
}

/** Compare two profiles or captures (`meshprof diff`): headline CPU, ranked rows, resolved and new findings. */
export async function diff(before: DiffSide, after: DiffSide, options: LibraryDiffOptions = {}): Promise<DiffResult> {
  const { findings = true, format, sampleType, ...diffOptions } = options
  const load: LoadOptions = { format, sampleType }
  const b = await sideOf(before, load)
  const a = await sideOf(after, load)
  const result = diffInputs(b, a, diffOptions)
  if (findings) result.findings = await diffFindings(b, a, await loadAnalyzer())
  return result
}

/** One self-contained, offline HTML flamegraph page (`meshprof flamegraph`); and the differential one (`diff --html`). */
export { renderFlamegraphHtml, renderDiffFlamegraphHtml }

/** Attach to running processes by pid and write capture files (`meshprof capture`); and launch one with the agent (`meshprof run`). */
export { capture, runWithAgent }
