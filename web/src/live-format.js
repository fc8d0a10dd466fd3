// Markdown shown formatted as one types: outside the lines the cursor is on, the marks (`**`,
// `#`, `[ ](…)`, `- [ ]`) are hidden and what they mean is shown — headings large, bold as bold,
// links as links, bullets as bullets, tasks as checkboxes a click ticks (an edit of the text,
// seen live by the others), pictures of the site as pictures. The text itself never changes:
// it stays the one Markdown `Y.Text` every client shares.
import { Decoration, ViewPlugin, WidgetType, EditorView } from '@codemirror/view'
import { StateField } from '@codemirror/state'
import { syntaxTree } from '@codemirror/language'

const hide = Decoration.replace({})
const line = (cls) => Decoration.line({ class: cls })
const mark = (cls) => Decoration.mark({ class: cls })

class Bullet extends WidgetType {
  eq () { return true }
  toDOM () {
    const span = document.createElement('span')
    span.className = 'cm-md-bullet'
    span.textContent = '•'
    span.setAttribute('aria-hidden', 'true')
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
    const img = document.createElement('img')
    img.className = 'cm-md-image'
    img.src = this.src
    img.alt = this.alt
    return img
  }
}

// The lines any selection touches: their marks stay visible.
function activeLines (state) {
  const lines = new Set()
  for (const range of state.selection.ranges) {
    const first = state.doc.lineAt(range.from).number
    const last = state.doc.lineAt(range.to).number
    for (let n = first; n <= last; n++) lines.add(n)
  }
  return lines
}

const WIKI = /\[\[([^\]\n]{1,200})\]\]/g

// A title as the site turns it into a page's address ("Compte rendu : été" → "compte-rendu-ete").
export function slugify (title) {
  return title.normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/œ/gi, 'oe').replace(/æ/gi, 'ae').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120)
}

function decorate (view, texts) {
  const { state } = view
  const active = activeLines(state)
  const isActive = (pos) => active.has(state.doc.lineAt(pos).number)
  const found = []
  const add = (from, to, deco) => { if (to >= from) found.push(deco.range(from, to)) }
  for (const { from, to } of view.visibleRanges) {
    syntaxTree(state).iterate({
      from,
      to,
      enter: (node) => {
        const name = node.name
        const heading = /^(ATXHeading|SetextHeading)(\d)$/.exec(name)
        if (heading) {
          add(node.from, node.from, line(`cm-md-h${heading[2]}`))
          return
        }
        switch (name) {
          case 'HeaderMark': {
            if (isActive(node.from)) return
            // "# " : the mark and the space after it.
            const end = state.doc.sliceString(node.to, node.to + 1) === ' ' ? node.to + 1 : node.to
            if (state.doc.lineAt(node.from).from === node.from || end > node.to) add(node.from, end, hide)
            return
          }
          case 'StrongEmphasis': add(node.from, node.to, mark('cm-md-strong')); return
          case 'Emphasis': add(node.from, node.to, mark('cm-md-em')); return
          case 'Strikethrough': add(node.from, node.to, mark('cm-md-strike')); return
          case 'InlineCode': add(node.from, node.to, mark('cm-md-code')); return
          case 'EmphasisMark':
          case 'StrikethroughMark':
          case 'CodeMark':
            if (!isActive(node.from) && node.node.parent?.name !== 'FencedCode') add(node.from, node.to, hide)
            return
          case 'Link': {
            add(node.from, node.to, mark('cm-md-link'))
            if (isActive(node.from)) return
            // [label](address): the brackets and the address hidden, the label shown.
            const marks = node.node.getChildren('LinkMark')
            const url = node.node.getChild('URL')
            if (marks.length >= 2) {
              add(marks[0].from, marks[0].to, hide)
              add(marks[1].from, node.to, hide)
            } else if (url) {
              add(url.from, url.to, mark('cm-md-url'))
            }
            return false
          }
          case 'Image': {
            if (isActive(node.from)) return
            const url = node.node.getChild('URL')
            const src = url ? state.doc.sliceString(url.from, url.to) : ''
            // Pictures of this site only (others would not load here anyway).
            if (!/^\/[^/]/.test(src)) return
            const text = state.doc.sliceString(node.from, node.to)
            const alt = (/^!\[([^\]]*)\]/.exec(text) || [])[1] || ''
            add(node.from, node.to, Decoration.replace({ widget: new Picture(src, alt) }))
            return false
          }
          case 'ListMark': {
            if (isActive(node.from)) return
            const item = node.node.parent
            const list = item?.parent
            const task = item?.getChild('Task')
            if (task) {
              // "- [ ] " : the dash hidden, the box drawn instead of "[ ]".
              add(node.from, task.from, hide)
              return
            }
            if (list?.name === 'BulletList') {
              add(node.from, node.to, Decoration.replace({ widget: new Bullet() }))
            } else {
              add(node.from, node.to, mark('cm-md-number'))
            }
            return
          }
          case 'TaskMarker': {
            if (isActive(node.from)) return
            const checked = /x/i.test(state.doc.sliceString(node.from, node.to))
            const label = state.doc.lineAt(node.to).text.slice(node.to - state.doc.lineAt(node.to).from).trim()
            const widget = new Checkbox(checked, node.from, `${checked ? texts.taskDone : texts.task} ${label}`.trim())
            add(node.from, node.to, Decoration.replace({ widget }))
            if (checked) {
              const end = state.doc.lineAt(node.from).to
              add(node.to, end, mark('cm-md-done'))
            }
            return
          }
          case 'Blockquote': {
            for (let pos = node.from; pos <= node.to;) {
              const l = state.doc.lineAt(pos)
              add(l.from, l.from, line('cm-md-quote'))
              pos = l.to + 1
            }
            return
          }
          case 'QuoteMark': {
            if (isActive(node.from)) return
            const end = state.doc.sliceString(node.to, node.to + 1) === ' ' ? node.to + 1 : node.to
            add(node.from, end, hide)
            return
          }
          case 'FencedCode':
          case 'CodeBlock':
          case 'Table': {
            for (let pos = node.from; pos <= node.to;) {
              const l = state.doc.lineAt(pos)
              add(l.from, l.from, line(name === 'Table' ? 'cm-md-table' : 'cm-md-codeblock'))
              pos = l.to + 1
            }
            return name === 'Table' ? false : undefined
          }
        }
      }
    })
    // Wiki links: [[Page]] shown as a link to the page, its brackets hidden.
    const text = state.doc.sliceString(from, to)
    for (const match of text.matchAll(WIKI)) {
      const start = from + match.index
      const end = start + match[0].length
      // A page of this space that does not exist yet (for those who may make it): in red.
      const target = match[1].split('|')[0].trim()
      const missing = texts.pages && !target.includes('/') && !texts.pages.has(slugify(target))
      add(start, end, mark(missing ? 'cm-md-wikilink cm-md-missing' : 'cm-md-wikilink'))
      if (!isActive(start)) {
        // [[target|label]] shows its label; [[Page]] its name.
        const bar = match[1].indexOf('|')
        add(start, bar >= 0 ? start + 3 + bar : start + 2, hide)
        add(end - 2, end, hide)
      }
    }
  }
  return Decoration.set(found, true)
}

// Tables laid out as tables while the cursor is elsewhere; a click on one puts the cursor in it
// (and its Markdown shows, to be edited).
class Table extends WidgetType {
  constructor (rows, from) { super(); this.rows = rows; this.from = from; this.key = JSON.stringify(rows) }
  eq (other) { return other.key === this.key && other.from === this.from }
  toDOM (view) {
    const table = document.createElement('table')
    table.className = 'cm-md-table-view'
    this.rows.forEach((cells, i) => {
      const row = document.createElement('tr')
      cells.forEach((cell) => {
        const td = document.createElement(i === 0 ? 'th' : 'td')
        td.textContent = cell.replace(/\*\*|__|`/g, '')
        row.append(td)
      })
      ;(i === 0 ? table.createTHead() : (table.tBodies[0] || table.createTBody())).append(row)
    })
    table.addEventListener('mousedown', (event) => {
      event.preventDefault()
      view.dispatch({ selection: { anchor: this.from } })
      view.focus()
    })
    return table
  }
  ignoreEvent () { return false }
}

const cells = (line) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim())

function tables (state) {
  const found = []
  const selected = (from, to) => state.selection.ranges.some((r) => r.to >= from && r.from <= to)
  syntaxTree(state).iterate({
    enter: (node) => {
      if (node.name !== 'Table') return
      const from = state.doc.lineAt(node.from).from
      const to = state.doc.lineAt(node.to).to
      if (selected(from, to)) return false
      const lines = state.doc.sliceString(from, to).split('\n')
      const rows = lines.filter((l, i) => !(i === 1 && /^[\s|:-]+$/.test(l))).map(cells)
      if (rows.length) found.push(Decoration.replace({ block: true, widget: new Table(rows, from) }).range(from, to))
      return false
    }
  })
  return Decoration.set(found, true)
}

const tableField = StateField.define({
  create: tables,
  update: (value, tr) => (tr.docChanged || tr.selection || syntaxTree(tr.startState) !== syntaxTree(tr.state)) ? tables(tr.state) : value,
  provide: (field) => EditorView.decorations.from(field)
})

// The extension: formatting outside the cursor's lines, in a text font. `texts` names the
// checkboxes for screen readers (`task`, `taskDone`).
export function liveFormat (texts) {
  return [
    ViewPlugin.fromClass(class {
      constructor (view) { this.decorations = decorate(view, texts) }
      update (update) {
        if (update.docChanged || update.selectionSet || update.viewportChanged || syntaxTree(update.startState) !== syntaxTree(update.state)) {
          this.decorations = decorate(update.view, texts)
        }
      }
    }, { decorations: (plugin) => plugin.decorations }),
    tableField,
    EditorView.editorAttributes.of({ class: 'cm-live-format' })
  ]
}
