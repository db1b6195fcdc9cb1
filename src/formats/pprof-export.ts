// STUB: being written. Replace whole file.
import type { Profile } from '../model/types.js'
/** Encode a profile as gzipped pprof protobuf. */
export function toPprof(_p: Profile): Buffer {
  throw new Error('pprof export not written yet')
}
