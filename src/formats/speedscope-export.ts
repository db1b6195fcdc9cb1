// STUB: being written. Replace whole file.
import type { Profile } from '../model/types.js'
/** Serialise profiles as a speedscope file (https://www.speedscope.app/file-format-schema.json). */
export function toSpeedscope(_ps: readonly Profile[], _name?: string): string {
  throw new Error('speedscope export not written yet')
}
