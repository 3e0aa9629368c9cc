#!/usr/bin/env node
// --version answered before oclif loads (src/cli/version.ts); everything else goes to oclif, from the bundle (scripts/bundle.mjs)
import {asksForVersion, userAgent} from '../dist/cli/version.js'

if (asksForVersion(process.argv.slice(2))) console.log(userAgent(new URL('../package.json', import.meta.url)))
else await (await import('../dist/bundle/main.js')).execute({dir: import.meta.url})
