// The built-in rules, in the order they run. Ids are stable (documented in docs/analyze.md).
import type { Rule } from './types.js'
import { connectStorm } from './connect-storm.js'
import { busyWait } from './busy-wait.js'
import { ghostConnections } from './ghost-connections.js'
import { telemetryGrowth } from './telemetry-growth.js'
import { gcPressure } from './gc-pressure.js'
import { growth } from './growth.js'

export const RULES: readonly Rule[] = [connectStorm, busyWait, ghostConnections, telemetryGrowth, gcPressure, growth]

export const BUILTIN_RULE_IDS: readonly string[] = RULES.map((r) => r.id)

export { connectStorm, busyWait, ghostConnections, telemetryGrowth, gcPressure }
export { loadUserRules, parseUserRules, validateUserRules, userRule, parseRulesYaml, type UserRuleSpec } from './user-rules.js'
export * from './types.js'
