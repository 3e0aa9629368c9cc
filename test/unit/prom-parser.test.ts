import {describe, expect, it} from 'vitest'
import {parsePrometheus, sampleValue} from '../helpers/prom.js'

// the tests' Prometheus parser must be strict, or the /metrics tests prove little
describe('the strict Prometheus text parser', () => {
  const good = [
    '# HELP up_total things, with \\\\ and \\n',
    '# TYPE up_total counter',
    'up_total{kind="a\\"b",x="1"} 3',
    '# TYPE lat histogram',
    'lat_bucket{le="0.1"} 1',
    'lat_bucket{le="+Inf"} 2',
    'lat_sum 0.3',
    'lat_count 2',
    '# TYPE g gauge',
    'g NaN',
    '',
  ].join('\n')

  it('reads samples, labels (escapes too) and histograms', () => {
    const m = parsePrometheus(good)
    expect(sampleValue(m, 'up_total', {kind: 'a"b', x: '1'})).toBe(3)
    expect(sampleValue(m, 'lat_count')).toBe(2)
    expect(sampleValue(m, 'g')).toBeNaN()
    expect(m.get('up_total')?.help).toBe('things, with \\\\ and \\n')
  })

  it.each([
    ['a sample without TYPE', 'x 1\n'],
    ['a malformed line', '# TYPE x gauge\nx one\n'],
    ['unquoted label', '# TYPE x gauge\nx{a=b} 1\n'],
    ['a label twice', '# TYPE x gauge\nx{a="1",a="2"} 1\n'],
    ['TYPE after samples', '# TYPE x gauge\nx 1\n# TYPE x gauge\n'],
    ['a negative counter', '# TYPE c counter\nc -1\n'],
    ['a bad metric name', '# TYPE 1x gauge\n1x 1\n'],
    ['no final newline', '# TYPE x gauge\nx 1'],
    ['+Inf bucket not equal to count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['no +Inf bucket', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePrometheus(text)).toThrow()
  })
})
