/** A time series of samples (x in unix seconds, one or more y columns), sorted, capped. */
export class TimeSeries {
  private rows: number[][] = []

  constructor(
    readonly columns: number,
    readonly cap: number,
  ) {}

  get length(): number {
    return this.rows.length
  }

  get lastX(): number {
    return this.rows.length ? this.rows[this.rows.length - 1][0] : -Infinity
  }

  /** Adds [x, y1, y2, …] rows, in any order; a row whose x is already there is ignored. */
  add(rows: number[][]): void {
    let sorted = true
    for (const r of rows) {
      if (r.length !== this.columns + 1 || !Number.isFinite(r[0])) continue
      if (r[0] > this.lastX) this.rows.push(r)
      else if (!this.rows.some((x) => x[0] === r[0])) {
        this.rows.push(r)
        sorted = false
      }
    }
    if (!sorted) this.rows.sort((a, b) => a[0] - b[0])
    if (this.rows.length > this.cap) this.rows.splice(0, this.rows.length - this.cap)
  }

  clear(): void {
    this.rows = []
  }

  /** Column arrays for uPlot: [xs, ys1, ys2, …]. */
  toColumns(): number[][] {
    const cols: number[][] = Array.from({ length: this.columns + 1 }, () => new Array<number>(this.rows.length))
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i]
      for (let c = 0; c <= this.columns; c++) cols[c][i] = r[c]
    }
    return cols
  }
}

export function isoToSeconds(iso: string): number {
  return Date.parse(iso) / 1000
}
