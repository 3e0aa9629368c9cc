import {readFileSync} from 'node:fs'

/**
 * The soft open-file limit of this process (Linux: /proc/self/limits);
 * undefined when unknown or unlimited. A node sizes its connection cap by it,
 * the load tester its workers.
 */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m && m[1] !== 'unlimited' ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}
