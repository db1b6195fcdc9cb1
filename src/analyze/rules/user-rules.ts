// User rules from a JSON or YAML file: [{ id, frame, ancestor?, threshold, severity, message, remedy? }].
// They run in the same engine as the built-ins. Every error names the file, the rule (index and id)
// and the field (in YAML also its line and column), and is a usage error (exit 2). YAML is read by the
// `yaml` package (YAML 1.2, the whole language).
import { readFile } from 'node:fs/promises'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import { UsageError } from '../../util/errors.js'
import type { Finding, Rule, RuleContext, Severity } from './types.js'
import { isSeverity } from './types.js'
import { cores as fmtCores, pct, shortName, trimStack } from './util.js'

export interface UserRuleSpec {
  id: string
  /** Regex tested against frame names. */
  frame: string
  /** Regex: the matching frame must have a frame matching this above it (closer to the root). */
  ancestor?: string
  /** Share of all samples (0..1, or "5%") from which the rule reports. */
  threshold: number
  severity: Severity
  /** One line; {share}, {cores}, {frame}, {id} are replaced. */
  message: string
  remedy?: string
  title?: string
  description?: string
}

const FIELDS = new Set(['id', 'frame', 'ancestor', 'threshold', 'severity', 'message', 'remedy', 'title', 'description'])
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

function compile(src: string, where: (field: string) => string, field: string): RegExp {
  try {
    return new RegExp(src)
  } catch (e) {
    throw new UsageError(`${where(field)}: field "${field}": invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`)
  }
}

/** Where rule `index` (0-based), or one of its fields, is written in the file: "line 3, column 5". */
export type LocateRule = (index: number, field?: string) => string | undefined

/**
 * Validate parsed rules (any JSON value) into specs. `reserved`: ids that are taken (built-ins).
 * `locate`, when the source has positions (YAML), puts the line and column into each error.
 */
export function validateUserRules(data: unknown, file: string, reserved: readonly string[] = [], locate?: LocateRule): UserRuleSpec[] {
  let list: unknown = data
  if (list !== null && typeof list === 'object' && !Array.isArray(list) && 'rules' in (list as object)) list = (list as { rules: unknown }).rules
  if (!Array.isArray(list)) throw new UsageError(`rules file ${file}: expected a list of rules (or { "rules": [...] })`)
  const seen = new Set<string>()
  const out: UserRuleSpec[] = []
  list.forEach((raw, i) => {
    const idText = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? ` (id "${(raw as { id: string }).id}")` : ''
    const at = (field?: string): string => {
      const pos = locate?.(i, field) ?? (field !== undefined ? locate?.(i) : undefined)
      return `rules file ${file}: ${pos ? `${pos}: ` : ''}rule ${i + 1}${idText}`
    }
    const where = at()
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${where}: not an object`)
    const r = raw as Record<string, unknown>
    for (const k of Object.keys(r)) if (!FIELDS.has(k)) throw new UsageError(`${at(k)}: field "${k}": unknown field (known: ${[...FIELDS].join(', ')})`)
    const str = (k: string, required: boolean): string | undefined => {
      const v = r[k]
      if (v === undefined || v === null) {
        if (required) throw new UsageError(`${at(k)}: field "${k}": missing`)
        return undefined
      }
      if (typeof v !== 'string') throw new UsageError(`${at(k)}: field "${k}": must be a string`)
      if (required && v.trim() === '') throw new UsageError(`${at(k)}: field "${k}": must not be empty`)
      return v
    }
    const id = str('id', true)!
    if (!ID_RE.test(id)) throw new UsageError(`${at('id')}: field "id": use letters, digits, '.', '_' or '-' (at most 64)`)
    if (reserved.includes(id)) throw new UsageError(`${at('id')}: field "id": "${id}" is a built-in rule`)
    if (seen.has(id)) throw new UsageError(`${at('id')}: field "id": "${id}" is used twice`)
    seen.add(id)
    const frame = str('frame', true)!
    compile(frame, at, 'frame')
    const ancestor = str('ancestor', false)
    if (ancestor !== undefined && ancestor !== '') compile(ancestor, at, 'ancestor')
    let threshold: number
    const tv = r.threshold
    if (typeof tv === 'number') threshold = tv
    else if (typeof tv === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(tv)) threshold = parseFloat(tv) / 100
    else if (tv === undefined || tv === null) throw new UsageError(`${at('threshold')}: field "threshold": missing (a share of all samples, 0..1 or "5%")`)
    else throw new UsageError(`${at('threshold')}: field "threshold": must be a number 0..1 or a percentage like "5%"`)
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw new UsageError(`${at('threshold')}: field "threshold": must be between 0 and 1 (a share of all samples), got ${String(tv)}`)
    const sev = r.severity
    if (sev === undefined || sev === null) throw new UsageError(`${at('severity')}: field "severity": missing (high, medium, low or info)`)
    if (!isSeverity(sev)) throw new UsageError(`${at('severity')}: field "severity": must be high, medium, low or info, got ${JSON.stringify(sev)}`)
    const message = str('message', true)!
    const remedy = str('remedy', false)
    const title = str('title', false)
    const description = str('description', false)
    out.push({
      id, frame, threshold, severity: sev, message,
      ...(ancestor ? { ancestor } : {}),
      ...(remedy !== undefined ? { remedy } : {}),
      ...(title !== undefined ? { title } : {}),
      ...(description !== undefined ? { description } : {}),
    })
  })
  return out
}

/** A Rule object for one validated spec. */
export function userRule(spec: UserRuleSpec): Rule {
  const frameRe = new RegExp(spec.frame)
  const ancRe = spec.ancestor ? new RegExp(spec.ancestor) : undefined
  return {
    id: spec.id,
    title: spec.title ?? spec.id,
    severity: spec.severity,
    source: 'user',
    description: spec.description ?? `frames matching /${spec.frame}/${ancRe ? ` under /${spec.ancestor}/` : ''} take at least ${pct(spec.threshold)} of all samples`,
    remedy: spec.remedy ?? '',
    thresholds: { threshold: { default: spec.threshold, min: 0, max: 1, description: 'share of all samples from which the rule reports' } },
    check(ctx: RuleContext): Finding[] {
      const { agg, profile: p } = ctx
      const n = p.stackFrame.length
      const fm = p.frames.map((f) => frameRe.test(f.name))
      const am = ancRe ? p.frames.map((f) => ancRe.test(f.name)) : undefined
      const anc = new Uint8Array(n)
      const hit = new Uint8Array(n)
      for (let s = 0; s < n; s++) {
        const par = p.stackParent[s]!
        const f = p.stackFrame[s]!
        anc[s] = (par >= 0 ? anc[par]! : 0) | (am && am[f] ? 1 : 0)
        const self = fm[f] && (!am || (par >= 0 && anc[par]!)) ? 1 : 0
        hit[s] = (par >= 0 ? hit[par]! : 0) | self
      }
      const w = agg.stackWeights
      let weight = 0
      for (let s = 0; s < n; s++) if (hit[s]) weight += w[s]!
      const share = agg.share(weight)
      const threshold = ctx.t('threshold')
      if (weight <= 0 || share < threshold) return []
      const stacks = agg.topStacks(hit, 3, (x) => trimStack(x.map(shortName)))
      const frames: string[] = []
      for (const st of stacks) for (const name of st.frames) if (frameRe.test(name) && !frames.includes(name)) frames.push(name)
      const c = agg.cores(weight)
      const message = spec.message
        .replace(/\{share\}/g, pct(share))
        .replace(/\{cores\}/g, c !== undefined ? fmtCores(c) : '? cores')
        .replace(/\{frame\}/g, frames[0] ?? '')
        .replace(/\{id\}/g, spec.id)
      return [ctx.finding({
        severity: spec.severity,
        share,
        weight,
        message,
        remedy: spec.remedy ?? '',
        frames: frames.slice(0, 8),
        evidence: { stacks, numbers: { share: Math.round(share * 1e4) / 1e4, threshold }, notes: [] },
      })]
    },
  }
}

/** Parse rules text (JSON, or YAML by extension or when it is not JSON) into validated Rule objects. */
export function parseUserRules(text: string, file: string, reserved: readonly string[] = []): Rule[] {
  const t = text.replace(/^\uFEFF/, '')
  if (!/\.ya?ml$/i.test(file)) {
    let data: unknown
    try {
      data = JSON.parse(t)
    } catch (e) {
      if (/\.json$/i.test(file) || /^\s*[[{]/.test(t)) throw new UsageError(`rules file ${file}: not valid JSON: ${(e as Error).message}`)
    }
    if (data !== undefined) return validateUserRules(data, file, reserved).map(userRule)
  }
  const { data, locate } = parseRulesYaml(t, file)
  return validateUserRules(data, file, reserved, locate).map(userRule)
}

/** YAML text -> plain data, and where each rule and field sits. A YAML error names its line and column. */
export function parseRulesYaml(text: string, file: string): { data: unknown; locate: LocateRule } {
  const lines = new LineCounter()
  // merge keys (<<) are YAML 1.1, but config files use them to share fields between rules
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, merge: true })
  const bad = doc.errors[0]
  if (bad) {
    const pos = bad.linePos?.[0]
    const what = bad.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
    throw new UsageError(`rules file ${file}: ${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}not valid YAML: ${what}`)
  }
  let data: unknown
  try {
    // aliases are expanded; the cap keeps a "billion laughs" file from exhausting memory
    data = doc.toJS({ maxAliasCount: 1000 })
  } catch (e) {
    throw new UsageError(`rules file ${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  const top = doc.contents
  const list = isMap(top) && top.has('rules') ? top.get('rules', true) : top
  const locate: LocateRule = (index, field) => {
    if (!isSeq(list)) return undefined
    const item = list.items[index] as YamlNode | undefined
    let node: YamlNode | undefined = item
    if (field !== undefined) {
      const pair = isMap(item) ? item.items.find((p) => isScalar(p.key) && p.key.value === field) : undefined
      node = (pair?.value ?? pair?.key) as YamlNode | undefined
    }
    if (!node?.range) return undefined
    const { line, col } = lines.linePos(node.range[0])
    return `line ${line}, column ${col}`
  }
  return { data, locate }
}

export async function loadUserRules(path: string, reserved: readonly string[] = []): Promise<Rule[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new UsageError(`rules file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`)
  }
  if (text.length > 4 * 1024 * 1024) throw new UsageError(`rules file ${path}: larger than 4 MiB`)
  return parseUserRules(text, path, reserved)
}
