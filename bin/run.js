#!/usr/bin/env node
// --version answered before oclif loads (src/cli/version.ts); everything else goes to oclif
import {asksForVersion, userAgent} from '../dist/cli/version.js'

if (asksForVersion(process.argv.slice(2))) console.log(userAgent(new URL('../package.json', import.meta.url)))
else await (await import('@oclif/core')).execute({dir: import.meta.url})
