// STUB: being written. Replace whole file.
import type { Importer } from './types.js'
import { MalformedInputError } from '../util/errors.js'

export const pprofImporter: Importer = {
  id: 'pprof',
  title: 'pprof',
  sniff() {
    return false
  },
  async parse(input) {
    throw new MalformedInputError('pprof', `${input.name}: importer not written yet`)
  },
}
