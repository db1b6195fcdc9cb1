// --focus / --ignore / --hide / --thread on loaded profiles (the options are common.ts's).
import type { Profile } from '../model/types.js'
import { filterProfile, threadNames } from '../model/ops.js'
import { UsageError } from '../util/errors.js'
import { regexOption, type FilterArgs } from './common.js'

export function applyFilters(p: Profile, a: FilterArgs): Profile {
  return applyFiltersAll([p], a)[0]!
}

/**
 * The filters on several profiles (a mesh directory): --thread must match a thread of at least one
 * of them; a profile without one keeps no samples.
 */
export function applyFiltersAll(ps: readonly Profile[], a: FilterArgs): Profile[] {
  const thread = regexOption('thread', a.thread)
  if (thread) {
    const names = [...new Set(ps.flatMap((p) => threadNames(p)))]
    if (!names.some((n) => thread.test(n))) {
      throw new UsageError(`--thread ${a.thread}: no thread matches; ${names.length ? `threads: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, and ${names.length - 12} more` : ''}` : 'the profile has no thread roots (a capture with worker threads, or perf script with --tid)'}`)
    }
  }
  const opts = { focus: regexOption('focus', a.focus), ignore: regexOption('ignore', a.ignore), hide: regexOption('hide', a.hide), thread }
  return ps.map((p) => filterProfile(p, opts))
}
