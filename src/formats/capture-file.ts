// STUB: being written. Replace whole file.
import type { Importer } from './types.js'
import { MalformedInputError } from '../util/errors.js'

export const captureImporter: Importer = {
  id: 'capture',
  title: 'capture',
  sniff() {
    return false
  },
  async parse(input) {
    throw new MalformedInputError('capture', `${input.name}: importer not written yet`)
  },
}
