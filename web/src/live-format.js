// Markdown shown as the page will show it, as one types. Every line is laid out from the one
// reading of the text the parser makes (web/src/markdown-dialect.js, the server's dialect):
// which quote, list and item it belongs to, which paragraph, heading, table row or code block.
// Block marks (`## `, `- `, `> `, the pipes of tables) are never shown; inline marks (`**`, `*`,
// `~~`, `` ` ``) only inside the span the cursor is in; links and wiki links show their label.
// Each line carries what it shows in `data-md` (its containers and its block), which the
// browser tests read back and compare with the server's HTML (tests/browser/structure.mjs).
// The text itself never changes: it stays the one Markdown `Y.Text` every client shares.
import { Decoration, WidgetType, EditorView, ViewPlugin } from '@codemirror/view'
import { StateField } from '@codemirror/state'
import { syntaxTree } from '@codemirror/language'

const hide = Decoration.replace({})
const mark = (cls) => Decoration.mark({ class: cls })

class Marker extends WidgetType {
  constructor (text, cls) { super(); this.text = text; this.cls = cls }
  eq (other) { return other.text === this.text && other.cls === this.cls }
  toDOM () {
    const span = document.createElement('span')
    span.className = `cm-md-marker ${this.cls}`
    span.textContent = this.text
    span.setAttribute('aria-hidden', 'true')
    return span
  }
}

class FillerCell extends WidgetType {
  eq () { return true }
  toDOM () {
    const span = document.createElement('span')
    span.className = 'cm-md-cell cm-md-cell-fill'
    return span
  }
}

class Checkbox extends WidgetType {
  constructor (checked, at, label) { super(); this.checked = checked; this.at = at; this.label = label }
  eq (other) { return other.checked === this.checked && other.at === this.at && other.label === this.label }
  toDOM (view) {
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.className = 'cm-md-task'
    box.checked = this.checked
    box.setAttribute('aria-label', this.label)
    box.addEventListener('mousedown', (event) => event.preventDefault())
    box.addEventListener('click', (event) => {
      event.preventDefault()
      view.dispatch({ changes: { from: this.at + 1, to: this.at + 2, insert: this.checked ? ' ' : 'x' } })
    })
    return box
  }
  ignoreEvent () { return false }
}

class Picture extends WidgetType {
  constructor (src, alt) { super(); this.src = src; this.alt = alt }
  eq (other) { return other.src === this.src && other.alt === this.alt }
  toDOM () {
    if (!/^\/[^/]/.test(this.src)) {
      // Pictures from elsewhere are not loaded here: their description stands for them.
      const span = document.createElement('span')
      span.className = 'cm-md-image-far'
      span.textContent = `🖼 ${this.alt}`
      return span
    }
    const img = document.createElement('img')
    img.className = 'cm-md-image'
    img.src = this.src
    img.alt = this.alt
    return img
  }
}

// A title as the site turns it into a page's address ("Compte rendu : été" → "compte-rendu-ete").
export function slugify (title) {
  return title.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/œ/gi, 'oe').replace(/æ/gi, 'ae').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120)
}

const CONTAINERS = { Blockquote: 'q', BulletList: 'ul', OrderedList: 'ol', ListItem: 'li' }

// The block a leaf node shows as on the page (headings one level down: the page's title is its
// h1), or null for what the page does not show (link definitions, comments).
function leafKind (name) {
  const heading = /^(?:ATX|Setext)Heading(\d)$/.exec(name)
  if (heading) return `h${Math.min(Number(heading[1]) + 1, 6)}`
  switch (name) {
    case 'Paragraph': case 'HTMLBlock': case 'ProcessingInstructionBlock': case 'Task': return 'p'
    case 'FencedCode': case 'CodeBlock': return 'pre'
    case 'HorizontalRule': return 'hr'
    case 'Table': return 'table'
    default: return null
  }
}

// The blocks of the text, line by line: for each line number, its containers (outermost first)
// and its leaf block. Lines with none are blank lines between blocks.
export function readBlocks (state, from = 0, to = state.doc.length) {
  const tree = syntaxTree(state)
  const lines = new Map()
  const doc = state.doc
  const walk = (node, path) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      // Blocks out of sight are left (a list's items are all counted, for their numbers).
      if ((child.to < from || child.from > to) && !(CONTAINERS[child.name] === 'li')) continue
      const container = CONTAINERS[child.name]
      if (container) {
        const entry = { t: container, from: child.from, node: child }
        if (container === 'li') {
          const list = path[path.length - 1]
          list.count = (list.count || 0) + 1
          entry.index = list.count
          entry.task = child.firstChild?.nextSibling?.name === 'Task'
        }
        walk(child, [...path, entry])
        // Its lines without a block (an empty item, a quote's empty line, blank lines).
        const first = doc.lineAt(child.from).number
        const last = doc.lineAt(child.to).number
        for (let n = first; n <= last; n++) if (!lines.has(n)) lines.set(n, { path: [...path, entry], leaf: null })
        continue
      }
      const t = leafKind(child.name)
      if (!t) continue
      const leaf = { t, from: child.from, to: child.to, node: child }
      const first = doc.lineAt(child.from).number
      const last = doc.lineAt(child.to).number
      for (let n = first; n <= last; n++) lines.set(n, { path, leaf, first: n === first })
    }
  }
  walk(tree.topNode, [])
  return lines
}

// Where a line's container marks end (`> `, the indentation of a list item's lines), for a
// line that continues a block.
function markupEnd (line, quotes, spaces = true) {
  let i = 0
  const text = line.text
  for (let q = 0; q < quotes; q++) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
    if (text[i] !== '>') break
    i++
    if (text[i] === ' ') i++
  }
  while (spaces && i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
  return line.from + i
}

// A table row's cells: [from, to) of the text between its pipes (escaped pipes are text).
function rowCells (text, offset) {
  const pipes = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') { i++; continue }
    if (text[i] === '|') pipes.push(i)
  }
  const cells = []
  let start = 0
  const leading = /^\s*$/.test(text.slice(0, pipes.length ? pipes[0] : 0)) && pipes.length > 0
  if (leading) start = pipes[0] + 1
  for (const p of pipes) {
    if (leading && p === pipes[0]) continue
    cells.push({ from: offset + start, to: offset + p })
    start = p + 1
  }
  if (/\S/.test(text.slice(start))) cells.push({ from: offset + start, to: offset + text.length })
  return { cells, pipes: pipes.map((p) => offset + p) }
}
export { rowCells }

const INLINE_MARKS = { StrongEmphasis: 'cm-md-strong', Emphasis: 'cm-md-em', Strikethrough: 'cm-md-strike', InlineCode: 'cm-md-code' }

function build (state, texts, focused, { from: seenFrom, to: seenTo }) {
  const doc = state.doc
  const lines = readBlocks(state, seenFrom, seenTo)
  const tree = syntaxTree(state)
  const found = []
  const atomic = []
  const add = (from, to, deco) => { if (to >= from) found.push(deco.range(from, to)) }
  const conceal = (from, to, deco = hide) => {
    if (to <= from && !deco.spec.widget) return
    add(from, to, deco)
    if (to > from) atomic.push(hide.range(from, to))
  }
  const head = state.selection.main.head
  const cursorIn = (from, to) => focused && state.selection.ranges.some((r) => r.from <= to && r.to >= from)

  for (let n = doc.lineAt(seenFrom).number, end = doc.lineAt(seenTo).number; n <= end; n++) {
    const line = doc.line(n)
    const info = lines.get(n)
    if (!info) continue
    const { path, leaf } = info
    const quotes = path.filter((c) => c.t === 'q').length
    const depth = path.filter((c) => c.t === 'li').length
    const classes = ['cm-md-b']
    if (quotes) classes.push('cm-md-quote', `cm-md-q${Math.min(quotes, 4)}`)
    if (depth) classes.push(`cm-md-in${Math.min(depth, 8)}`)
    const tokens = path.map((c) => `${c.t}${c.t === 'li' && c.task ? '-task' : ''}:${c.from}`)
    // List items starting on this line: their markers.
    const starting = path.filter((c) => c.t === 'li' && doc.lineAt(c.from).number === n)
    if (leaf && leaf.t === 'table') {
      // Tables: the delimiter row (the table's second line) is not shown; each other row is a
      // line of cells.
      const index = n - doc.lineAt(leaf.from).number
      // (Hidden by tableDelimiters: a block decoration.)
      if (index === 1) continue
      const row = { from: markupEnd(line, quotes) }
      classes.push('cm-md-tr', index === 0 ? 'cm-md-thead' : 'cm-md-tbody')
      tokens.push(`table:${leaf.from}`, `tr:${line.from}`)
      conceal(line.from, row.from)
      const headerLine = doc.lineAt(leaf.from)
      const headerFrom = markupEnd(headerLine, quotes)
      const width = rowCells(doc.sliceString(headerFrom, headerLine.to), headerFrom).cells.length
      const { cells, pipes } = rowCells(doc.sliceString(row.from, line.to), row.from)
      for (const p of pipes) conceal(p, p + 1)
      cells.forEach((cell, i) => {
        if (i >= width) { conceal(cell.from, cell.to); return }
        if (cell.to > cell.from) add(cell.from, cell.to, mark('cm-md-cell'))
        else add(cell.from, cell.from, Decoration.widget({ widget: new FillerCell(), side: 1 }))
      })
      for (let i = cells.length; i < width; i++) add(line.to, line.to, Decoration.widget({ widget: new FillerCell(), side: 1 }))
      found.push(Decoration.line({ class: classes.join(' '), attributes: { 'data-md': tokens.join(' ') } }).range(line.from))
      continue
    }
    if (leaf) {
      tokens.push(`${leaf.t}:${leaf.from}`)
      // Headings by their Markdown level (`##` is cm-md-h2, shown as the page's h3).
      const heading = /^(?:ATX|Setext)Heading(\d)$/.exec(leaf.node.name)
      classes.push(heading ? `cm-md-h${heading[1]}` : `cm-md-${leaf.t}`)
    }
    if (starting.length) classes.push('cm-md-item')
    const attributes = { 'data-md': tokens.join(' ') }
    // Where the line's own content starts: before it, only marks.
    let contentFrom
    if (leaf && info.first) contentFrom = Math.max(leaf.from, line.from)
    else if (leaf && leaf.t === 'pre') contentFrom = markupEnd(line, quotes, false)
    else if (leaf) contentFrom = markupEnd(line, quotes)
    else contentFrom = line.to
    const markers = starting.map((item) => {
      const list = path[path.indexOf(item) - 1]
      if (list.t === 'ol' && list.start === undefined) {
        const m = /^\d+/.exec(doc.sliceString(list.from, list.from + 12).trimStart())
        list.start = m ? Number(m[0]) : 1
      }
      if (item.task) return null
      if (list.t === 'ol') {
        const shown = list.start + item.index - 1
        return new Marker(`${shown}.`, 'cm-md-number')
      }
      return new Marker(['•', '◦', '▪'][(path.filter((c) => c.t === 'ul').indexOf(list)) % 3], 'cm-md-bullet')
    }).filter(Boolean)
    if (starting.length) {
      const last = starting[starting.length - 1]
      const list = path[path.indexOf(last) - 1]
      if (list.t === 'ol') attributes['data-n'] = String(list.start + last.index - 1)
    }
    if (markers.length || contentFrom > line.from) {
      conceal(line.from, contentFrom, markers.length ? Decoration.replace({ widget: new Marker(markers.map((m) => m.text).join(' '), markers[markers.length - 1].cls) }) : hide)
    }
    found.push(Decoration.line({ class: classes.join(' '), attributes }).range(line.from))
    // A thematic break: drawn as a rule, its dashes not shown.
    if (leaf && leaf.t === 'hr') conceal(contentFrom, line.to)
    // Setext headings: the underline is not shown.
    if (leaf && /^h/.test(leaf.t) && leaf.node.name.startsWith('Setext') && !info.first) {
      conceal(contentFrom, line.to)
    }
  }

  // Inline: marks hidden outside the span the cursor is in; links by their label.
  tree.iterate({
    from: seenFrom,
    to: seenTo,
    enter: (node) => {
      const name = node.name
      if (INLINE_MARKS[name]) {
        add(node.from, node.to, mark(INLINE_MARKS[name]))
        if (!cursorIn(node.from, node.to)) {
          const markName = name === 'InlineCode' ? 'CodeMark' : name === 'Strikethrough' ? 'StrikethroughMark' : 'EmphasisMark'
          for (const m of node.node.getChildren(markName)) conceal(m.from, m.to)
        }
        return
      }
      switch (name) {
        case 'HeaderMark': {
          const parent = node.node.parent
          if (!parent || !/^ATXHeading/.test(parent.name)) return
          if (node.from === parent.from) {
            const end = doc.sliceString(node.to, node.to + 1) === ' ' ? node.to + 1 : node.to
            conceal(node.from, end)
          } else {
            // Closing #s, and the spaces before them.
            let start = node.from
            while (start > parent.from && doc.sliceString(start - 1, start) === ' ') start--
            conceal(start, node.to)
          }
          return
        }
        case 'HardBreak':
          // A backslash at the end of a line: the page shows the new line, not the backslash.
          if (doc.sliceString(node.from, node.from + 1) === '\\' && !cursorIn(node.from, node.to)) conceal(node.from, node.from + 1)
          return
        case 'Escape':
          if (!cursorIn(node.from, node.to)) conceal(node.from, node.from + 1)
          return
        case 'Link': {
          const marks = node.node.getChildren('LinkMark')
          if (marks.length >= 2) {
            add(marks[0].to, marks[1].from, mark('cm-md-link'))
            conceal(marks[0].from, marks[0].to)
            conceal(marks[1].from, node.to)
          } else {
            add(node.from, node.to, mark('cm-md-link'))
          }
          return
        }
        case 'Autolink': {
          const marks = node.node.getChildren('LinkMark')
          add(node.from, node.to, mark('cm-md-link'))
          for (const m of marks) conceal(m.from, m.to)
          return false
        }
        case 'WikiLink': {
          const [open, close] = node.node.getChildren('WikiMark')
          const inner = doc.sliceString(node.from + 2, node.to - 2)
          const target = inner.split('|')[0].trim()
          const missing = texts.pages && !target.includes('/') && !texts.pages.has(slugify(target))
          add(open.to, close.from, mark(missing ? 'cm-md-wikilink cm-md-missing' : 'cm-md-wikilink'))
          conceal(open.from, open.to)
          conceal(close.from, close.to)
          return false
        }
        case 'Image': {
          const url = node.node.getChild('URL')
          const src = url ? doc.sliceString(url.from, url.to) : ''
          const alt = (/^!\[([^\]]*)\]/.exec(doc.sliceString(node.from, node.to)) || [])[1] || ''
          conceal(node.from, node.to, Decoration.replace({ widget: new Picture(src, alt) }))
          return false
        }
        case 'TaskMarker': {
          const checked = /x/i.test(doc.sliceString(node.from, node.to))
          const rest = doc.lineAt(node.to)
          const label = rest.text.slice(node.to - rest.from).trim()
          const widget = new Checkbox(checked, node.from, `${checked ? texts.taskDone : texts.task} ${label}`.trim())
          const end = doc.sliceString(node.to, node.to + 1) === ' ' ? node.to + 1 : node.to
          conceal(node.from, end, Decoration.replace({ widget }))
          if (checked) add(end, rest.to, mark('cm-md-done'))
          return
        }
        case 'LinkReference':
          return false
      }
    }
  })
  return { decorations: Decoration.set(found, true), atomic: Decoration.set(atomic, true) }
}

// The extension: the text laid out as the page, in a text font. `texts` names the checkboxes
// for screen readers (`task`, `taskDone`) and holds the space's pages (`pages`).
export function liveFormat (texts) {
  const plugin = ViewPlugin.fromClass(class {
    constructor (view) { this.compute(view) }
    update (update) {
      if (update.docChanged || update.selectionSet || update.viewportChanged || update.focusChanged || syntaxTree(update.startState) !== syntaxTree(update.state)) this.compute(update.view)
    }

    // Only the lines in view are laid out: a keystroke costs the same on a long page.
    compute (view) {
      const { decorations, atomic } = build(view.state, texts, view.hasFocus, view.viewport)
      this.decorations = decorations
      this.atomic = atomic
    }
  }, {
    decorations: (p) => p.decorations,
    provide: (p) => EditorView.atomicRanges.of((view) => view.plugin(p)?.atomic || Decoration.none)
  })
  return [
    plugin,
    tableDelimiters,
    keepCursorOutOfMarks(plugin),
    EditorView.editorAttributes.of({ class: 'cm-live-format' })
  ]
}

// The delimiter rows of tables (`| --- | --- |`), not shown: whole lines taken out, which only a
// state field may do.
function delimiterRows (state) {
  const found = []
  const walk = (node) => {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (CONTAINERS[child.name]) walk(child)
      else if (child.name === 'Table') {
        const first = state.doc.lineAt(child.from).number
        if (first < state.doc.lines) {
          const line = state.doc.line(first + 1)
          if (line.to <= child.to) found.push(Decoration.replace({ block: true }).range(line.from, line.to))
        }
      }
    }
  }
  walk(syntaxTree(state).topNode)
  return Decoration.set(found, true)
}
const tableDelimiters = StateField.define({
  create: delimiterRows,
  update: (value, tr) => (tr.docChanged || syntaxTree(tr.startState) !== syntaxTree(tr.state) ? delimiterRows(tr.state) : value),
  provide: (f) => EditorView.decorations.from(f)
})

// The cursor never rests among hidden marks (typing there would write before a list's bullet
// or a heading's #): it goes to where the line's text starts, or, moving left, to the end of
// the line before.
function keepCursorOutOfMarks (plugin) {
  return ViewPlugin.fromClass(class {
    update (update) {
      if (!update.selectionSet && !update.docChanged) return
      const { state } = update
      const sel = state.selection.main
      if (!sel.empty) return
      const atomic = update.view.plugin(plugin)?.atomic
      if (!atomic) return
      let target = null
      atomic.between(sel.head, sel.head, (from, to) => {
        const line = state.doc.lineAt(sel.head)
        if (from === line.from && sel.head < to && to <= line.to) {
          const before = update.startState.selection.main.head
          const movingLeft = update.transactions.some((t) => t.isUserEvent('select') && !t.isUserEvent('select.pointer')) && before > sel.head && before <= to && line.number > 1 && !update.docChanged
          target = movingLeft ? line.from - 1 : to
          return false
        }
      })
      if (target !== null && target !== sel.head) {
        const view = update.view
        queueMicrotask(() => view.dispatch({ selection: { anchor: target } }))
      }
    }
  })
}
