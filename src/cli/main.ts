/**
 * What `bin/run.js` runs for every command but `--version`: oclif's
 * `execute`, from the bundle (scripts/bundle.mjs), so that oclif and the
 * command's own modules load as a few files instead of a few hundred.
 */
export {execute} from '@oclif/core'
