import { describe, expect, it } from 'vitest'
import { parseAnsi, stripAnsi } from '@/utils/ansi'

describe('stripAnsi', () => {
  it('removes colour codes and other escapes', () => {
    expect(stripAnsi('\x1b[31mred\x1b[0m plain')).toBe('red plain')
    expect(stripAnsi('\x1b[1;32mok\x1b[22;39m')).toBe('ok')
    expect(stripAnsi('a\x1b[2Kb\x1b[1Gc')).toBe('abc')
    expect(stripAnsi('\x1b]0;title\x07text')).toBe('text')
    expect(stripAnsi('no escapes')).toBe('no escapes')
  })
})

describe('parseAnsi', () => {
  it('returns one plain segment without escapes', () => {
    expect(parseAnsi('hello')).toEqual([{ text: 'hello', classes: [] }])
    expect(parseAnsi('')).toEqual([])
  })
  it('maps SGR colours to classes and resets', () => {
    const s = parseAnsi('\x1b[31merror\x1b[0m done')
    expect(s).toEqual([
      { text: 'error', classes: ['ansi-fg-1'] },
      { text: ' done', classes: [] },
    ])
  })
  it('handles bold, bright colours and backgrounds', () => {
    const s = parseAnsi('\x1b[1;93;44mX\x1b[22mY')
    expect(s[0]).toEqual({ text: 'X', classes: ['ansi-fg-11', 'ansi-bg-4', 'ansi-bold'] })
    expect(s[1]).toEqual({ text: 'Y', classes: ['ansi-fg-11', 'ansi-bg-4'] })
  })
  it('handles 256 and true colour as inline styles', () => {
    expect(parseAnsi('\x1b[38;5;196mA')[0].style).toBe('color:#ff0000'.replace('#ff0000', 'rgb(255,0,0)'))
    expect(parseAnsi('\x1b[38;2;1;2;3mB')[0].style).toBe('color:rgb(1,2,3)')
    expect(parseAnsi('\x1b[48;5;1mC')[0].style).toBe('background-color:#cd0000')
  })
  it('drops non-colour escapes but keeps the text', () => {
    expect(parseAnsi('a\x1b[2Kb').map((x) => x.text).join('')).toBe('ab')
  })
  it('treats ESC[m as a reset', () => {
    expect(parseAnsi('\x1b[32mg\x1b[mp')[1]).toEqual({ text: 'p', classes: [] })
  })
})
