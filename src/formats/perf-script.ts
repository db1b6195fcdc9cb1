// STUB: being written. Replace whole file.
import type { Importer } from './types.js'
import { MalformedInputError } from '../util/errors.js'

export const perfScriptImporter: Importer = {
  id: 'perf-script',
  title: 'perf-script',
  sniff() {
    return false
  },
  async parse(input) {
    throw new MalformedInputError('perf-script', `${input.name}: importer not written yet`)
  },
}

import type { InputSource } from './source.js'
import type { PerfOptions } from './types.js'
/** Fold perf script text exactly like stackcollapse-perf.pl, streaming. */
export async function foldPerfScriptToString(_input: InputSource, _opts: PerfOptions): Promise<string> {
  throw new Error('perf fold not written yet')
}
