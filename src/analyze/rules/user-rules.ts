// User rules from a JSON or YAML file: [{ id, frame, ancestor?, threshold, severity, message, remedy? }].
// They run in the same engine as the built-ins. Every error names the file, the rule (index and id)
// and the field, and is a usage error (exit 2).
import { readFile } from 'node:fs/promises'
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

function compile(src: string, where: string, field: string): RegExp {
  try {
    return new RegExp(src)
  } catch (e) {
    throw new UsageError(`${where}: field "${field}": invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`)
  }
}

/** Validate parsed rules (any JSON value) into specs. `reserved`: ids that are taken (built-ins). */
export function validateUserRules(data: unknown, file: string, reserved: readonly string[] = []): UserRuleSpec[] {
  let list: unknown = data
  if (list !== null && typeof list === 'object' && !Array.isArray(list) && 'rules' in (list as object)) list = (list as { rules: unknown }).rules
  if (!Array.isArray(list)) throw new UsageError(`rules file ${file}: expected a list of rules (or { "rules": [...] })`)
  const seen = new Set<string>()
  const out: UserRuleSpec[] = []
  list.forEach((raw, i) => {
    const idText = raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? ` (id "${(raw as { id: string }).id}")` : ''
    const where = `rules file ${file}: rule ${i + 1}${idText}`
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${where}: not an object`)
    const r = raw as Record<string, unknown>
    for (const k of Object.keys(r)) if (!FIELDS.has(k)) throw new UsageError(`${where}: field "${k}": unknown field (known: ${[...FIELDS].join(', ')})`)
    const str = (k: string, required: boolean): string | undefined => {
      const v = r[k]
      if (v === undefined || v === null) {
        if (required) throw new UsageError(`${where}: field "${k}": missing`)
        return undefined
      }
      if (typeof v !== 'string') throw new UsageError(`${where}: field "${k}": must be a string`)
      if (required && v.trim() === '') throw new UsageError(`${where}: field "${k}": must not be empty`)
      return v
    }
    const id = str('id', true)!
    if (!ID_RE.test(id)) throw new UsageError(`${where}: field "id": use letters, digits, '.', '_' or '-' (at most 64)`)
    if (reserved.includes(id)) throw new UsageError(`${where}: field "id": "${id}" is a built-in rule`)
    if (seen.has(id)) throw new UsageError(`${where}: field "id": "${id}" is used twice`)
    seen.add(id)
    const frame = str('frame', true)!
    compile(frame, where, 'frame')
    const ancestor = str('ancestor', false)
    if (ancestor !== undefined && ancestor !== '') compile(ancestor, where, 'ancestor')
    let threshold: number
    const tv = r.threshold
    if (typeof tv === 'number') threshold = tv
    else if (typeof tv === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(tv)) threshold = parseFloat(tv) / 100
    else if (tv === undefined || tv === null) throw new UsageError(`${where}: field "threshold": missing (a share of all samples, 0..1 or "5%")`)
    else throw new UsageError(`${where}: field "threshold": must be a number 0..1 or a percentage like "5%"`)
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw new UsageError(`${where}: field "threshold": must be between 0 and 1 (a share of all samples), got ${String(tv)}`)
    const sev = r.severity
    if (sev === undefined || sev === null) throw new UsageError(`${where}: field "severity": missing (high, medium, low or info)`)
    if (!isSeverity(sev)) throw new UsageError(`${where}: field "severity": must be high, medium, low or info, got ${JSON.stringify(sev)}`)
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

/** Parse rules text (JSON, or the YAML subset) into validated Rule objects. */
export function parseUserRules(text: string, file: string, reserved: readonly string[] = []): Rule[] {
  const t = text.replace(/^\uFEFF/, '')
  let data: unknown
  const yaml = /\.ya?ml$/i.test(file)
  if (!yaml) {
    try {
      data = JSON.parse(t)
    } catch (e) {
      if (/\.json$/i.test(file) || /^\s*[[{]/.test(t)) throw new UsageError(`rules file ${file}: not valid JSON: ${(e as Error).message}`)
      data = parseYamlSubset(t, file)
    }
  } else data = parseYamlSubset(t, file)
  return validateUserRules(data, file, reserved).map(userRule)
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

// ---- A YAML subset: a list of flat `key: value` maps, optionally under `rules:`. -------------
// Scalars: "double" (JSON escapes), 'single' ('' escapes), plain (numbers, true/false/null, text).
// Comments with #. No anchors, no nesting, no multi-line strings: anything else is an error with its line.

function yamlScalar(raw: string, file: string, lineNo: number): unknown {
  const s = raw.trim()
  if (s === '' || s === '~' || s === 'null') return null
  if (s.startsWith('"')) {
    let i = 1
    let esc = false
    for (; i < s.length; i++) {
      if (esc) { esc = false; continue }
      if (s[i] === '\\') esc = true
      else if (s[i] === '"') break
    }
    if (i >= s.length) throw new UsageError(`rules file ${file}: line ${lineNo}: unterminated "string"`)
    const rest = s.slice(i + 1).trim()
    if (rest !== '' && !rest.startsWith('#')) throw new UsageError(`rules file ${file}: line ${lineNo}: text after a quoted string`)
    try {
      return JSON.parse(s.slice(0, i + 1))
    } catch {
      throw new UsageError(`rules file ${file}: line ${lineNo}: bad escape in "string"`)
    }
  }
  if (s.startsWith("'")) {
    let out = ''
    let i = 1
    for (; i < s.length; i++) {
      if (s[i] === "'") {
        if (s[i + 1] === "'") { out += "'"; i++; continue }
        break
      }
      out += s[i]
    }
    if (i >= s.length) throw new UsageError(`rules file ${file}: line ${lineNo}: unterminated 'string'`)
    const rest = s.slice(i + 1).trim()
    if (rest !== '' && !rest.startsWith('#')) throw new UsageError(`rules file ${file}: line ${lineNo}: text after a quoted string`)
    return out
  }
  if (/^[[{|>&*!]/.test(s)) throw new UsageError(`rules file ${file}: line ${lineNo}: only plain or quoted scalars are supported (meshprof reads a YAML subset; use JSON for more)`)
  const plain = s.replace(/\s+#.*$/, '')
  if (plain === 'true') return true
  if (plain === 'false') return false
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(plain)) return Number(plain)
  return plain
}

export function parseYamlSubset(text: string, file: string): unknown {
  const lines = text.split(/\r?\n/)
  const items: Record<string, unknown>[] = []
  let wrapped = false
  let cur: Record<string, unknown> | undefined
  let keyIndent = -1
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1
    const line = lines[i]!
    if (/^\s*(#.*)?$/.test(line)) continue
    if (line === '---' || line === '...') continue
    if (/\t/.test(line.match(/^\s*/)![0])) throw new UsageError(`rules file ${file}: line ${lineNo}: tabs are not allowed for indentation`)
    if (/^rules:\s*(#.*)?$/.test(line)) {
      if (wrapped || items.length) throw new UsageError(`rules file ${file}: line ${lineNo}: "rules:" must come first, once`)
      wrapped = true
      continue
    }
    const item = /^(\s*)-(\s+(.*))?$/.exec(line)
    if (item) {
      cur = {}
      items.push(cur)
      const rest = item[3] ?? ''
      keyIndent = -1
      if (rest.trim() !== '') {
        keyIndent = item[1]!.length + 1 + item[2]!.length - item[2]!.trimStart().length
        setKey(cur, rest, file, lineNo)
      }
      continue
    }
    const kv = /^(\s*)(\S.*)$/.exec(line)!
    if (!cur) throw new UsageError(`rules file ${file}: line ${lineNo}: expected a list item ("- id: ...")`)
    if (kv[1]!.length === 0) throw new UsageError(`rules file ${file}: line ${lineNo}: a rule's fields must be indented under its "- "`)
    if (keyIndent >= 0 && kv[1]!.length !== keyIndent) throw new UsageError(`rules file ${file}: line ${lineNo}: inconsistent indentation (nested maps are not supported)`)
    keyIndent = kv[1]!.length
    setKey(cur, kv[2]!, file, lineNo)
  }
  return items
}

function setKey(obj: Record<string, unknown>, text: string, file: string, lineNo: number): void {
  const m = /^([A-Za-z_][A-Za-z0-9_-]*)\s*:(\s+(.*))?$/.exec(text.trimEnd()) ?? /^([A-Za-z_][A-Za-z0-9_-]*):$/.exec(text.trim())
  if (!m) throw new UsageError(`rules file ${file}: line ${lineNo}: expected "key: value"`)
  const key = m[1]!
  if (Object.prototype.hasOwnProperty.call(obj, key)) throw new UsageError(`rules file ${file}: line ${lineNo}: field "${key}" given twice`)
  obj[key] = yamlScalar(m[3] ?? '', file, lineNo)
}
