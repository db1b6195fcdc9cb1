// The CLI's two packages, yargs and chalk, through one module. `npm run build` replaces the compiled
// file with an esbuild bundle of both (scripts/bundle-vendor.mjs): yargs alone is ~40 ES modules
// that Node resolves, reads and compiles one by one, 60 ms of every command's start-up; the bundle
// loads in ~35 ms. Without esbuild (a production-only install that builds) this file works as is.
export { default as yargs } from 'yargs'
export { Chalk, supportsColor } from 'chalk'
export type { ColorSupportLevel } from 'chalk'
