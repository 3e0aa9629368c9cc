/**
 * Ack latencies in an HDR histogram (hdr-histogram-js): constant memory
 * however many clients, 3 significant digits, and a compact encoding that
 * workers and agents send instead of every sample. The exact maximum travels
 * beside it, since a histogram only knows the maximum to its precision.
 */
import * as hdr from 'hdr-histogram-js'

/** Microseconds from 1 µs to one hour, 3 significant digits (0.1% error). */
const BUILD: hdr.BuildRequest = {lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 32}

export interface LatencySummary {
  count: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

/** A histogram as it travels between processes: the encoded HDR histogram (µs) and the exact maximum (ms). */
export interface EncodedLatencies {
  histogram: string
  maxMs: number | null
}

const round1 = (ms: number) => Math.round(ms * 10) / 10

export class LatencyHistogram {
  private readonly h: hdr.Histogram
  private maxMs: number | null = null

  constructor(from?: hdr.Histogram) {
    this.h = from ?? hdr.build(BUILD)
  }

  /** Records one latency in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const v = Math.max(0, ms)
    this.h.recordValue(Math.max(1, Math.round(v * 1000)))
    if (this.maxMs === null || v > this.maxMs) this.maxMs = v
  }

  get count(): number {
    return this.h.totalCount
  }

  /** Adds every value of `other` to this histogram. */
  add(other: LatencyHistogram): void {
    if (other.count === 0) return
    this.h.add(other.h)
    if (other.maxMs !== null && (this.maxMs === null || other.maxMs > this.maxMs)) this.maxMs = other.maxMs
  }

  encode(): EncodedLatencies {
    return {histogram: hdr.encodeIntoCompressedBase64(this.h), maxMs: this.maxMs}
  }

  static decode(e: EncodedLatencies): LatencyHistogram {
    const out = new LatencyHistogram()
    out.h.add(hdr.decodeFromCompressedBase64(e.histogram, BUILD.bitBucketSize))
    out.maxMs = e.maxMs
    return out
  }

  /** p50/p90/p99 (to the histogram's precision) and the exact maximum, in ms with one decimal; nulls when empty. */
  summary(): LatencySummary {
    const n = this.h.totalCount
    if (n === 0) return {count: 0, p50: null, p90: null, p99: null, max: null}
    const at = (p: number) => round1(Math.min(this.h.getValueAtPercentile(p) / 1000, this.maxMs ?? Infinity))
    return {count: n, p50: at(50), p90: at(90), p99: at(99), max: this.maxMs === null ? null : round1(this.maxMs)}
  }
}
