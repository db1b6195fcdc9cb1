// Findings on both sides of a diff: which rules stopped firing (resolved), started (new), or stay;
// a rule that drops to info (a note) counts as resolved, one that rises from info as new.
// Findings are matched by ruleId; several findings of one rule on one side (one per path or per node)
// collapse into one entry with the highest severity.
import type { Profile } from '../model/types.js'
import type { DiffInput, FindingRef, FindingsDiff } from './types.js'

/** The part of an analyze Finding the diff needs. */
export interface FindingLike {
  readonly ruleId: string
  readonly severity: string
  readonly title?: string
  readonly message?: string
}

export type Analyzer = (p: Profile) => readonly FindingLike[] | Promise<readonly FindingLike[]>

/** Higher = more severe; unknown severities rank lowest. */
const SEVERITY_RANK: Record<string, number> = { critical: 5, high: 4, error: 4, medium: 3, warning: 3, warn: 3, low: 2, info: 1 }

function rankOf(s: string): number {
  return SEVERITY_RANK[s.toLowerCase()] ?? 0
}

async function collect(side: DiffInput, analyze: Analyzer): Promise<Map<string, FindingRef>> {
  const m = new Map<string, FindingRef>()
  for (const n of side.nodes) {
    const fs = await analyze(n.profile)
    for (const f of fs) {
      const cur = m.get(f.ruleId)
      if (!cur) {
        m.set(f.ruleId, { ruleId: f.ruleId, severity: String(f.severity), title: f.title ?? f.message ?? f.ruleId, nodes: [n.name] })
        continue
      }
      if (!cur.nodes.includes(n.name)) cur.nodes.push(n.name)
      if (rankOf(String(f.severity)) > rankOf(cur.severity)) cur.severity = String(f.severity)
    }
  }
  return m
}

const bySeverity = (x: FindingRef, y: FindingRef) => rankOf(y.severity) - rankOf(x.severity) || (x.ruleId < y.ruleId ? -1 : x.ruleId > y.ruleId ? 1 : 0)

export async function diffFindings(before: DiffInput, after: DiffInput, analyze: Analyzer | null): Promise<FindingsDiff> {
  if (!analyze) return { available: false, resolved: [], new: [], unchanged: [] }
  const b = await collect(before, analyze)
  const a = await collect(after, analyze)
  // An info finding is a note, not a problem: HIGH before and info after is resolved, info before
  // and HIGH after is new (a fixed mesh still gets an info note about its few connects).
  const problem = (m: Map<string, FindingRef>, id: string) => { const f = m.get(id); return f !== undefined && rankOf(f.severity) > rankOf('info') }
  const resolved = [...b.values()].filter((f) => !a.has(f.ruleId) || (problem(b, f.ruleId) && !problem(a, f.ruleId))).sort(bySeverity)
  const added = [...a.values()].filter((f) => !b.has(f.ruleId) || (problem(a, f.ruleId) && !problem(b, f.ruleId))).sort(bySeverity)
  const moved = new Set([...resolved, ...added].map((f) => f.ruleId))
  // An unchanged finding is reported as it stands after the change.
  const unchanged = [...a.values()].filter((f) => b.has(f.ruleId) && !moved.has(f.ruleId)).sort(bySeverity)
  return { available: true, resolved, new: added, unchanged }
}

/** The rules of `meshprof analyze` (src/analyze/index.ts), imported lazily: a plain diff loads no rules. */
export async function loadAnalyzer(): Promise<Analyzer> {
  const { analyzeProfile } = await import('../analyze/index.js')
  return (p) => analyzeProfile(p)
}
