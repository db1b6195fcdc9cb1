import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

/** Package root (works from src/ via tsc's dist/src layout). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version
