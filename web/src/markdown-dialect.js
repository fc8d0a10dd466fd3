// The Markdown the editor reads: the same dialect as the server's renderer (pulldown-cmark with
// CommonMark, GFM tables, task lists, strikethrough and wiki links), so that what the editor
// shows is what the page will show. Where @lezer/markdown's GFM reads a text otherwise than
// pulldown-cmark, the difference is mended here, with the text that shows it.
import { markdown, commonmarkLanguage } from '@codemirror/lang-markdown'
import { Table, TaskList } from '@lezer/markdown'
import { tags } from '@lezer/highlight'

// `[[adresse]]` and `[[adresse|Titre]]`: one link whose label is what follows the bar.
const WikiLink = {
  defineNodes: [{ name: 'WikiLink', style: tags.link }, { name: 'WikiMark', style: tags.processingInstruction }],
  parseInline: [{
    name: 'WikiLink',
    parse (cx, next, pos) {
      if (next !== 91 /* [ */ || cx.char(pos + 1) !== 91) return -1
      const found = /^([^[\]\n]{1,200}?)\]\]/.exec(cx.slice(pos + 2, cx.end))
      if (!found || !found[1].trim()) return -1
      const end = pos + 2 + found[0].length
      const bar = found[1].indexOf('|')
      const open = cx.elt('WikiMark', pos, bar >= 0 ? pos + 3 + bar : pos + 2)
      return cx.addElement(cx.elt('WikiLink', pos, end, [open, cx.elt('WikiMark', end - 2, end)]))
    },
    before: 'Link'
  }]
}

// A table may start right after a line of text (pulldown-cmark reads `Texte\n| a |\n| - |` as a
// paragraph and a table), but not on a line that lazily continues a list item's or a quote's
// paragraph: there pulldown-cmark reads the pipes as text. @lezer/markdown starts the table in
// both cases; here only in the first. (A line that lazily continues matches fewer containers
// than are open: `line.depth < cx.depth`.)
const TableNotLazily = {
  ...Table,
  parseBlock: Table.parseBlock.map((b) => ({ ...b, endLeaf: (cx, line, leaf) => line.depth >= cx.depth && b.endLeaf(cx, line, leaf) }))
}

// Strikethrough with one tilde or two (`~mot~`, `~~mot~~`), as pulldown-cmark reads it; a run
// closes only a run of its own length, and three or more tildes are text.
const PUNCTUATION = /[\p{S}\p{P}]/u
const tildes = [{ resolve: 'Strikethrough', mark: 'StrikethroughMark' }, { resolve: 'Strikethrough', mark: 'StrikethroughMark' }]
const StrikethroughOneOrTwo = {
  defineNodes: [{ name: 'Strikethrough', style: { 'Strikethrough/...': tags.strikethrough } }, { name: 'StrikethroughMark', style: tags.processingInstruction }],
  parseInline: [{
    name: 'Strikethrough',
    parse (cx, next, pos) {
      if (next !== 126 /* ~ */ || cx.char(pos - 1) === 126) return -1
      let size = 1
      while (cx.char(pos + size) === 126) size++
      if (size > 2) return -1
      const before = cx.slice(pos - 1, pos)
      const after = cx.slice(pos + size, pos + size + 1)
      const sBefore = /\s|^$/.test(before); const sAfter = /\s|^$/.test(after)
      const pBefore = PUNCTUATION.test(before); const pAfter = PUNCTUATION.test(after)
      return cx.addDelimiter(tildes[size - 1], pos, pos + size, !sAfter && (!pAfter || sBefore || pBefore), !sBefore && (!pBefore || sAfter || pAfter))
    },
    after: 'Emphasis'
  }]
}

export function rucheMarkdown () {
  return markdown({
    // Not lezer's whole GFM: pulldown-cmark makes no links of bare addresses, and has no
    // subscript, superscript or emoji shortcodes.
    base: commonmarkLanguage,
    // Enter and Backspace are bound by the editor (continueMarkup in editor.js).
    addKeymap: false,
    extensions: [WikiLink, TableNotLazily, TaskList, StrikethroughOneOrTwo]
  })
}
