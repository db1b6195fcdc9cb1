// `top`: hot frames ranked by self or total, as plain rows that every printer shares.
import type { Profile } from '../model/types.js'
import { selfTotalBy, totalWeight, type GroupBy } from '../model/ops.js'
import { isConnectFrame } from './classify.js'
import { cpuBasis, cpuCores, cpuShare, isOffCpuFrame, type CpuBasis } from '../model/cpu-basis.js'

export interface RankRow {
  /** Group key: function name, file, or module. */
  name: string
  file?: string
  line?: number
  module?: string
  /** The name comes from this many files or modules (--by function merges them): no file is named. */
  places?: number
  kind: string
  self: number
  total: number
  /** Shares of the on-CPU time (src/model/cpu-basis.ts): idle samples are not CPU and are not rows. */
  selfShare: number
  totalShare: number
  /** totalShare x the process's cores, when the basis knows them (the same figure analyze prints). */
  totalCores?: number
  /** Running sum of selfShare down the ranking (pprof's sum%). */
  cumShare: number
  /** connect / handshake / TLS frame: what meshprof exists to find. */
  connect: boolean
}

export interface RankOptions {
  by?: GroupBy
  sort?: 'self' | 'total'
  limit?: number
  value?: number
}

export interface RankResult {
  rows: RankRow[]
  /** Sum of the value column, idle samples included. */
  total: number
  /** The on-CPU part of total: the denominator of every share. */
  busy: number
  basis: CpuBasis
  unit: string
  valueType: string
  /** How many groups existed before --limit. */
  groups: number
}

export function rank(p: Profile, opts: RankOptions = {}): RankResult {
  const by = opts.by ?? 'function'
  const value = opts.value ?? p.defaultValue
  const total = totalWeight(p, value)
  const basis = cpuBasis(p, value)
  // idle samples are time off the CPU: not a row, and not in the denominator of the shares
  const groups = selfTotalBy(p, by, value).filter((g) => !isOffCpuFrame(g.frame))
  const key = opts.sort ?? 'self'
  // Deterministic: value desc, then the other value desc, then name.
  groups.sort((a, b) => (b[key] - a[key]) || (key === 'self' ? b.total - a.total : b.self - a.self) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  const limited = opts.limit && opts.limit > 0 ? groups.slice(0, opts.limit) : groups
  let cum = 0
  const rows = limited.map((g): RankRow => {
    const selfShare = cpuShare(basis, g.self)
    const totalCores = cpuCores(basis, g.total)
    cum += selfShare
    return {
      name: g.key,
      // a name merged from several files or modules names none of them (it would name the wrong one)
      ...(by === 'function' && g.frame.file !== undefined && !g.places ? { file: g.frame.file } : {}),
      ...(by === 'function' && g.frame.line !== undefined && !g.places ? { line: g.frame.line } : {}),
      ...(g.frame.module !== undefined && !g.places ? { module: g.frame.module } : {}),
      ...(g.places ? { places: g.places } : {}),
      kind: g.frame.kind,
      self: g.self,
      total: g.total,
      selfShare,
      totalShare: cpuShare(basis, g.total),
      ...(totalCores !== undefined ? { totalCores } : {}),
      cumShare: cum,
      connect: isConnectFrame(g.key),
    }
  })
  const vt = p.valueTypes[value]!
  return { rows, total, busy: basis.busy, basis, unit: vt.unit, valueType: vt.type, groups: groups.length }
}
