/**
 * What `bin/run.js` runs for every command but `--version`: oclif's
 * `execute`, from the bundle (scripts/bundle.mjs), so that oclif and the
 * command's own modules load as a few files instead of a few hundred.
 */
import {execute, settings} from '@oclif/core'

// The built CLI runs the bundle, never the TypeScript sources. Without this,
// oclif takes NODE_ENV=development or test (common in a developer's shell, and
// what vitest sets) as a cue to register tsx and look for sources beside each
// command: about 0.45 s of CPU more for every command, for nothing.
settings.enableAutoTranspile = false

export {execute}
