// Tables edited as a grid: the cell the cursor is in, Tab and Shift+Tab from cell to cell (Tab
// in the last cell adds a row), rows and columns added and taken away. The text stays a GFM
// table, as the page reads it.
import { syntaxTree } from '@codemirror/language'
import { rowCells } from './live-format.js'

// The table the position is in: its rows (the delimiter row apart), each with its cells.
export function tableAt (state, pos) {
  let node = syntaxTree(state).resolveInner(pos, -1)
  while (node && node.name !== 'Table') node = node.parent
  if (!node) {
    node = syntaxTree(state).resolveInner(pos, 1)
    while (node && node.name !== 'Table') node = node.parent
  }
  if (!node) return null
  const rows = []
  let delimiter = null
  for (let child = node.firstChild; child; child = child.nextSibling) {
    const line = state.doc.lineAt(child.from)
    const row = { line, from: child.from, ...rowCells(state.sliceDoc(child.from, line.to), child.from) }
    if (child.name === 'TableDelimiter') delimiter = row
    else if (child.name === 'TableHeader' || child.name === 'TableRow') rows.push(row)
  }
  if (!rows.length || !delimiter) return null
  return { node, rows, delimiter, width: rows[0].cells.length }
}

// Where the cursor is: the row and the cell.
function where (table, pos) {
  const r = table.rows.findIndex((row) => pos >= row.line.from && pos <= row.line.to)
  if (r < 0) return null
  const cells = table.rows[r].cells
  let c = cells.findIndex((cell) => pos >= cell.from && pos <= cell.to)
  if (c < 0) c = pos < (cells[0]?.from ?? 0) ? 0 : cells.length - 1
  return { r, c: Math.max(0, c) }
}

// A cell's words selected (typing replaces them), or the cursor in its middle when empty.
function selectCell (cell) {
  const text = cell.text
  const start = text.length - text.trimStart().length
  const end = text.trimEnd().length
  if (end > start) return { anchor: cell.from + start, head: cell.from + end }
  return { anchor: cell.from + Math.min(1, cell.to - cell.from) }
}

const withText = (state, cell) => ({ ...cell, text: state.sliceDoc(cell.from, cell.to) })

// Tab (dir 1) or Shift+Tab (dir -1) in a table; false elsewhere.
export function moveCell (view, dir) {
  const { state } = view
  const head = state.selection.main.head
  const table = tableAt(state, head)
  if (!table) return false
  const at = where(table, head)
  if (!at) return false
  let { r, c } = at
  c += dir
  if (c >= table.width) { c = 0; r++ }
  if (c < 0) { c = table.width - 1; r-- }
  if (r < 0) return true
  if (r >= table.rows.length) {
    addRow(view, table, table.rows.length - 1)
    return true
  }
  const row = table.rows[r]
  if (c >= row.cells.length) {
    // A short row: its missing cells are written out first.
    const missing = table.width - row.cells.length
    const end = row.line.to
    const close = /\|\s*$/.test(row.line.text) ? '' : ' |'
    const insert = close + '  |'.repeat(missing)
    const target = end + close.length + 3 * (c - row.cells.length) + 1
    view.dispatch({ changes: { from: end, insert }, selection: { anchor: target }, userEvent: 'input' })
    return true
  }
  view.dispatch({ selection: selectCell(withText(state, row.cells[c])), scrollIntoView: true, userEvent: 'select' })
  return true
}

const prefixOf = (state, row) => state.sliceDoc(row.line.from, row.from)

function addRow (view, table, after) {
  const { state } = view
  const row = table.rows[after]
  // Below the headings, the new row goes after the delimiter row.
  const below = after === 0 ? table.delimiter.line : row.line
  const prefix = prefixOf(state, row)
  const insert = state.lineBreak + prefix + '|' + '  |'.repeat(table.width)
  view.dispatch({ changes: { from: below.to, insert }, selection: { anchor: below.to + state.lineBreak.length + prefix.length + 2 }, userEvent: 'input', scrollIntoView: true })
}

// The toolbar's table actions, run where the cursor is; false outside a table.
export const tableActions = {
  addRow (view) {
    const table = tableAt(view.state, view.state.selection.main.head)
    const at = table && where(table, view.state.selection.main.head)
    if (!at) return false
    addRow(view, table, at.r)
    return true
  },
  removeRow (view) {
    const { state } = view
    const table = tableAt(state, state.selection.main.head)
    const at = table && where(table, state.selection.main.head)
    // The row of headings stays: a table has one.
    if (!at || at.r === 0) return false
    const line = table.rows[at.r].line
    const from = line.from - state.lineBreak.length
    const next = table.rows[Math.min(at.r, table.rows.length - 2)]
    view.dispatch({ changes: { from, to: line.to }, userEvent: 'delete' })
    const again = tableAt(view.state, Math.min(from, view.state.doc.length))
    if (again) {
      const row = again.rows[Math.min(at.r, again.rows.length - 1)]
      if (row && row.cells[0]) view.dispatch({ selection: selectCell(withText(view.state, row.cells[Math.min(at.c, row.cells.length - 1)])) })
    }
    return next !== undefined
  },
  addColumn (view, heading) {
    const { state } = view
    const table = tableAt(state, state.selection.main.head)
    const at = table && where(table, state.selection.main.head)
    if (!at) return false
    const changes = []
    const put = (row, text) => {
      const cell = row.cells[at.c]
      if (cell) changes.push({ from: cell.to, insert: '|' + text })
    }
    table.rows.forEach((row, i) => put(row, i === 0 ? ` ${heading} ` : '  '))
    put(table.delimiter, ' --- ')
    const set = state.changes(changes)
    const header = table.rows[0].cells[at.c]
    const start = set.mapPos(header.to, 1) - heading.length - 1
    view.dispatch({ changes: set, selection: { anchor: start, head: start + heading.length }, userEvent: 'input' })
    return true
  },
  removeColumn (view) {
    const { state } = view
    const table = tableAt(state, state.selection.main.head)
    const at = table && where(table, state.selection.main.head)
    if (!at || table.width < 2) return false
    const changes = []
    for (const row of [...table.rows, table.delimiter]) {
      const cell = row.cells[at.c]
      if (!cell) continue
      const pipeAfter = row.pipes.includes(cell.to)
      changes.push(pipeAfter ? { from: cell.from, to: cell.to + 1 } : { from: Math.max(row.from, cell.from - 1), to: cell.to })
    }
    view.dispatch({ changes, userEvent: 'delete' })
    return true
  }
}
