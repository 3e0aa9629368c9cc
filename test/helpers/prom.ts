/**
 * A strict parser of the Prometheus text exposition format (0.0.4): every
 * line must be a HELP, TYPE, comment, blank or sample line; every sample must
 * belong to a family whose TYPE came first; histograms must be consistent.
 * Throws naming the first line that breaks a rule.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help?: string
  samples: Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*'
// Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any
// case; prom-client writes "Nan" for a gauge with no data yet
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?[iI][nN][fF]|[nN][aA][nN])'
const HELP_RE = new RegExp(`^# HELP (${NAME}) (.*)$`)
const TYPE_RE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: (-?\\d+))?$`)
const LABEL_PAIR_RE = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`)

function parseNumber(text: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity
  if (/^-inf$/i.test(text)) return -Infinity
  if (/^nan$/i.test(text)) return NaN
  return Number(text)
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest.length > 0) {
    const m = LABEL_PAIR_RE.exec(rest)
    if (!m) throw new Error(`line ${line}: bad labels {${text}}`)
    if (Object.hasOwn(labels, m[1])) throw new Error(`line ${line}: label ${m[1]} twice`)
    labels[m[1]] = m[2].replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
    rest = rest.slice(m[0].length)
    if (rest.startsWith(',')) rest = rest.slice(1)
    else if (rest.length > 0) throw new Error(`line ${line}: expected "," in labels {${text}}`)
  }
  return labels
}

/** The family a sample named `name` belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name)
  if (exact && exact.type !== 'histogram') return exact
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const base = families.get(name.slice(0, -suffix.length))
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return base
  }
  return undefined
}

export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const lines = text.slice(0, -1).split('\n')
  lines.forEach((raw, i) => {
    const n = i + 1
    if (raw.trim() === '') return
    if (raw.startsWith('#')) {
      const help = HELP_RE.exec(raw)
      if (help) {
        const fam = families.get(help[1])
        if (fam?.help !== undefined) throw new Error(`line ${n}: second HELP for ${help[1]}`)
        if (fam) fam.help = help[2]
        else families.set(help[1], {name: help[1], type: 'untyped', help: help[2], samples: []})
        return
      }
      const type = TYPE_RE.exec(raw)
      if (type) {
        const fam = families.get(type[1])
        if (fam && (fam.samples.length > 0 || fam.type !== 'untyped')) throw new Error(`line ${n}: TYPE for ${type[1]} after its samples or twice`)
        if (fam) fam.type = type[2] as Family['type']
        else families.set(type[1], {name: type[1], type: type[2] as Family['type'], samples: []})
        return
      }
      if (/^# (HELP|TYPE)\b/.test(raw)) throw new Error(`line ${n}: malformed ${raw}`)
      return // a plain comment
    }
    const m = SAMPLE_RE.exec(raw)
    if (!m) throw new Error(`line ${n}: not a sample line: ${JSON.stringify(raw)}`)
    const fam = familyOf(m[1], families)
    if (!fam) throw new Error(`line ${n}: sample ${m[1]} has no TYPE before it`)
    fam.samples.push({name: m[1], labels: m[2] === undefined ? {} : parseLabels(m[2], n), value: parseNumber(m[3])})
  })
  for (const fam of families.values()) checkFamily(fam)
  return families
}

function checkFamily(fam: Family): void {
  for (const s of fam.samples) {
    if (fam.type === 'counter' && !(s.value >= 0)) throw new Error(`${s.name}: a counter must be >= 0, is ${s.value}`)
  }
  if (fam.type !== 'histogram') return
  // one series per label set (le aside); a labelled histogram may have none yet
  const series = new Map<string, Sample[]>()
  for (const s of fam.samples) {
    const {le: _le, ...rest} = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    series.set(key, [...(series.get(key) ?? []), s])
  }
  for (const [key, samples] of series) {
    const what = `${fam.name}${key}`
    const buckets = samples.filter((s) => s.name === `${fam.name}_bucket`)
    const count = samples.find((s) => s.name === `${fam.name}_count`)
    if (buckets.length === 0 || !count || !samples.some((s) => s.name === `${fam.name}_sum`)) throw new Error(`${what}: histogram without buckets, _sum or _count`)
    let last = -Infinity
    let lastCount = 0
    for (const b of buckets) {
      const le = parseNumber(b.labels.le ?? '')
      if (!(le > last)) throw new Error(`${what}: buckets not in increasing le order`)
      if (b.value < lastCount) throw new Error(`${what}: bucket counts must not decrease`)
      last = le
      lastCount = b.value
    }
    if (last !== Infinity) throw new Error(`${what}: no le="+Inf" bucket`)
    if (lastCount !== count.value) throw new Error(`${what}: +Inf bucket ${lastCount} != _count ${count.value}`)
  }
}

/** The value of the sample `name` with exactly `labels`; throws when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name !== name) continue
      const keys = Object.keys(s.labels)
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value
    }
  }
  throw new Error(`no sample ${name}${JSON.stringify(labels)}`)
}
