// Replace dist/src/vendor/cli-deps.js (tsc's output: re-exports of yargs and chalk) with one
// esbuild bundle of both; see src/vendor/cli-deps.ts for why. Run by `npm run build` after tsc.
// yargs finds its locale files next to its own modules, which a bundle does not have: it then
// speaks the English of its source, which is what meshprof's own messages are in.
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const target = join(root, 'dist', 'src', 'vendor', 'cli-deps.js')
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  process.stderr.write('bundle-vendor: esbuild is not installed (a production-only install?); the CLI loads yargs and chalk unbundled\n')
  process.exit(0)
}
await esbuild.build({
  entryPoints: [join(root, 'src', 'vendor', 'cli-deps.ts')],
  outfile: target,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
})
