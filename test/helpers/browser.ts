import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {chromium, type BrowserContext} from 'playwright-core'

/** Debian's chromium, installed by scripts/test-deps.sh when missing. */
export const CHROMIUM = '/usr/bin/chromium'

/**
 * Without the background-networking flags chromium dials Google's services at
 * start, which this closed network refuses; every test browser starts with them.
 */
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

export interface TestBrowser {
  context: BrowserContext
  /** closes the browser and removes its profile folder */
  close(): Promise<void>
}

/** A headless chromium with a fresh profile in a temp folder. `ignoreHTTPSErrors` accepts the tests' self-signed certificates. */
export async function launchBrowser(opts: {ignoreHTTPSErrors?: boolean} = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'peerlink-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: {width: 1280, height: 960},
    ignoreHTTPSErrors: opts.ignoreHTTPSErrors ?? false,
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, {recursive: true, force: true})
    },
  }
}
