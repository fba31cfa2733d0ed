// ANSI SGR colour codes (ESC [ … m) → styled segments; every other escape sequence is stripped.

export interface AnsiSegment {
  text: string
  /** CSS classes: ansi-fg-<0..15>, ansi-bg-<0..15>, ansi-bold, ansi-dim, ansi-italic, ansi-underline */
  classes: string[]
  /** inline colour for 256-colour and true-colour codes */
  style?: string
}

// CSI sequences, OSC sequences (ended by BEL or ST) and lone two-char escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g
// eslint-disable-next-line no-control-regex
const HAS_ESC = /\x1b/

export function hasAnsi(s: string): boolean {
  return HAS_ESC.test(s)
}

export function stripAnsi(s: string): string {
  return HAS_ESC.test(s) ? s.replace(ESCAPES, '') : s
}

interface Style {
  fg?: number
  bg?: number
  fgCss?: string
  bgCss?: string
  bold?: boolean
  dim?: boolean
  italic?: boolean
  underline?: boolean
}

const XTERM_BASE = [
  '#000000', '#cd0000', '#00cd00', '#cdcd00', '#0000ee', '#cd00cd', '#00cdcd', '#e5e5e5',
  '#7f7f7f', '#ff0000', '#00ff00', '#ffff00', '#5c5cff', '#ff00ff', '#00ffff', '#ffffff',
]

function color256(n: number): string {
  if (n < 16) return XTERM_BASE[n]
  if (n >= 232) {
    const v = 8 + (n - 232) * 10
    return `rgb(${v},${v},${v})`
  }
  const i = n - 16
  const c = (x: number) => (x === 0 ? 0 : 55 + x * 40)
  return `rgb(${c(Math.floor(i / 36))},${c(Math.floor(i / 6) % 6)},${c(i % 6)})`
}

function applySgr(style: Style, params: number[]): Style {
  const s: Style = { ...style }
  if (params.length === 0) params = [0]
  for (let i = 0; i < params.length; i++) {
    const p = params[i]
    if (p === 0) {
      for (const k of Object.keys(s)) delete (s as Record<string, unknown>)[k]
    } else if (p === 1) s.bold = true
    else if (p === 2) s.dim = true
    else if (p === 3) s.italic = true
    else if (p === 4) s.underline = true
    else if (p === 22) {
      s.bold = false
      s.dim = false
    } else if (p === 23) s.italic = false
    else if (p === 24) s.underline = false
    else if (p >= 30 && p <= 37) {
      s.fg = p - 30
      delete s.fgCss
    } else if (p >= 90 && p <= 97) {
      s.fg = p - 90 + 8
      delete s.fgCss
    } else if (p === 39) {
      delete s.fg
      delete s.fgCss
    } else if (p >= 40 && p <= 47) {
      s.bg = p - 40
      delete s.bgCss
    } else if (p >= 100 && p <= 107) {
      s.bg = p - 100 + 8
      delete s.bgCss
    } else if (p === 49) {
      delete s.bg
      delete s.bgCss
    } else if (p === 38 || p === 48) {
      let css: string | undefined
      if (params[i + 1] === 5 && i + 2 < params.length) {
        css = color256(params[i + 2])
        i += 2
      } else if (params[i + 1] === 2 && i + 4 < params.length) {
        css = `rgb(${params[i + 2]},${params[i + 3]},${params[i + 4]})`
        i += 4
      } else {
        break
      }
      if (p === 38) {
        delete s.fg
        s.fgCss = css
      } else {
        delete s.bg
        s.bgCss = css
      }
    }
  }
  return s
}

function segment(text: string, st: Style): AnsiSegment {
  const classes: string[] = []
  if (st.fg !== undefined) classes.push(`ansi-fg-${st.fg}`)
  if (st.bg !== undefined) classes.push(`ansi-bg-${st.bg}`)
  if (st.bold) classes.push('ansi-bold')
  if (st.dim) classes.push('ansi-dim')
  if (st.italic) classes.push('ansi-italic')
  if (st.underline) classes.push('ansi-underline')
  const css: string[] = []
  if (st.fgCss) css.push(`color:${st.fgCss}`)
  if (st.bgCss) css.push(`background-color:${st.bgCss}`)
  return css.length ? { text, classes, style: css.join(';') } : { text, classes }
}

/** Splits a line into styled segments; non-SGR escapes are dropped. */
export function parseAnsi(input: string): AnsiSegment[] {
  if (!HAS_ESC.test(input)) return input ? [{ text: input, classes: [] }] : []
  const out: AnsiSegment[] = []
  let style: Style = {}
  let last = 0
  ESCAPES.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = ESCAPES.exec(input)) !== null) {
    if (m.index > last) out.push(segment(input.slice(last, m.index), style))
    last = m.index + m[0].length
    const seq = m[0]
    if (seq.startsWith('\x1b[') && seq.endsWith('m')) {
      const body = seq.slice(2, -1)
      const params = body === '' ? [] : body.split(/[;:]/).map((x) => (x === '' ? 0 : Number(x)))
      if (params.every((n) => Number.isFinite(n))) style = applySgr(style, params)
    }
  }
  if (last < input.length) out.push(segment(input.slice(last), style))
  return out.filter((s) => s.text !== '')
}
