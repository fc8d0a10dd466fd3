// Ruche's live editor: CodeMirror 6 bound to the page's Y.Text through y-websocket.
// It takes over #editor-root when scripts run; without scripts the plain form stays.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import { EditorState, Compartment } from '@codemirror/state'
import { EditorView, keymap, drawSelection, highlightActiveLine } from '@codemirror/view'
import { defaultKeymap, indentWithTab } from '@codemirror/commands'
import { insertNewlineContinueMarkupCommand, deleteMarkupBackward } from '@codemirror/lang-markdown'
import { syntaxHighlighting, defaultHighlightStyle, syntaxTree } from '@codemirror/language'
import { autocompletion, completionKeymap } from '@codemirror/autocomplete'
import { liveFormat } from './live-format.js'
import { rucheMarkdown } from './markdown-dialect.js'
import { moveCell, tableAt, tableActions } from './tables.js'

const root = document.getElementById('editor-root')
if (root) start(root)

function start (root) {
  const d = root.dataset
  const text = JSON.parse(d.texts)
  const canWrite = d.canWrite === 'true'
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'

  const doc = new Y.Doc()
  const ytext = doc.getText('body')
  const provider = new WebsocketProvider(`${scheme}//${location.host}/ws/${d.space}`, d.page, doc, { maxBackoffTime: 5000 })
  provider.awareness.setLocalStateField('user', { name: d.userName, color: d.userColor, colorLight: d.userColor + '33' })
  const undoManager = new Y.UndoManager(ytext)

  // The plain form is the fallback; the live editor replaces it.
  const form = document.getElementById('plain-editor')
  if (form) form.hidden = true
  const plainUpload = document.getElementById('plain-upload')
  if (plainUpload) plainUpload.hidden = true
  const csrf = form ? form.querySelector('input[name=_csrf]') : null
  function csrfToken () { return csrf ? csrf.value : '' }
  root.hidden = false

  const status = root.querySelector('[data-role=status]')
  const people = root.querySelector('[data-role=people]')
  const preview = root.querySelector('[data-role=preview]')
  const toolbar = root.querySelector('[data-role=toolbar]')
  const host = root.querySelector('[data-role=editor]')

  let online = navigator.onLine
  let connection = 'connecting'
  const showStatus = () => {
    const key = !online ? 'offline' : connection === 'connected' ? 'connected' : 'reconnecting'
    status.textContent = text[key]
    status.dataset.state = key
  }
  provider.on('status', (event) => { connection = event.status; showStatus() })
  window.addEventListener('online', () => { online = true; showStatus() })
  window.addEventListener('offline', () => { online = false; showStatus() })
  showStatus()

  // Presence comes from other people's browsers: the server names each connection itself, and
  // here nothing but a #rrggbb colour and a short text name is kept before anything (the people
  // list, the remote cursors) uses it.
  const COLOUR = /^#[0-9a-fA-F]{6}$/
  const cleanUser = (user) => {
    const color = typeof user.color === 'string' && COLOUR.test(user.color) ? user.color : '#555555'
    const name = typeof user.name === 'string' ? user.name.slice(0, 80) : '?'
    return { name, color, colorLight: color + '33' }
  }
  const showPeople = () => {
    const names = []
    provider.awareness.getStates().forEach((state, client) => {
      if (client === doc.clientID || !state.user) return
      state.user = cleanUser(state.user)
      names.push(state.user)
    })
    people.replaceChildren(...names.map((user) => {
      const li = document.createElement('li')
      const dot = document.createElement('span')
      dot.className = 'dot'
      dot.style.background = user.color
      dot.setAttribute('aria-hidden', 'true')
      li.append(dot, document.createTextNode(user.name))
      return li
    }))
    root.querySelector('[data-role=alone]').hidden = names.length > 0
  }
  provider.awareness.on('change', showPeople)
  showPeople()

  // Formatting shown as one types, unless the person chose to see the Markdown itself (kept in
  // this browser).
  const formatting = new Compartment()
  const remembered = (key) => { try { return localStorage.getItem(key) } catch (_) { return null } }
  const remember = (key, value) => { try { localStorage.setItem(key, value) } catch (_) {} }
  // Signed in: the account's choice (it follows the person); else this browser's.
  const showCode = d.showMarkdown === 'true' || (!csrfToken() && remembered('ruche.showMarkdown') === '1')
  const shortcut = (name) => () => {
    undoManager.stopCapturing()
    if (actions[name]) actions[name]()
    undoManager.stopCapturing()
    return true
  }
  let afterUpdate = null
  const extensions = [
    rucheMarkdown(),
    formatting.of(showCode ? [] : liveFormat(text)),
    syntaxHighlighting(defaultHighlightStyle),
    drawSelection(),
    highlightActiveLine(),
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ 'aria-label': text.label, 'aria-multiline': 'true' }),
    keymap.of([
      { key: 'Mod-b', run: shortcut('bold') },
      { key: 'Mod-i', run: shortcut('italic') },
      { key: 'Mod-k', run: shortcut('link') },
      { key: 'Tab', run: (v) => moveCell(v, 1), shift: (v) => moveCell(v, -1) },
      ...completionKeymap,
      { key: 'Enter', run: continueMarkup },
      { key: 'Backspace', run: deleteMarkupBackward },
      ...yUndoManagerKeymap, ...defaultKeymap, indentWithTab
    ]),
    autocompletion({ override: [mentions(d.space, d.page)], icons: false }),
    yCollab(ytext, provider.awareness, { undoManager }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) schedulePreview()
      if ((update.docChanged || update.selectionSet) && afterUpdate) afterUpdate()
    }),
    // Pictures and files pasted or dropped into the text are uploaded, and linked where they go.
    EditorView.domEventHandlers({
      paste: (event, view) => {
        const files = [...(event.clipboardData?.files || [])]
        if (!files.length || !canWrite) return false
        event.preventDefault()
        files.forEach((file) => upload(file, view.state.selection.main.head))
        return true
      },
      drop: (event, view) => {
        const files = [...(event.dataTransfer?.files || [])]
        if (!files.length || !canWrite) return false
        event.preventDefault()
        const at = view.posAtCoords({ x: event.clientX, y: event.clientY }) ?? view.state.selection.main.head
        files.forEach((file) => upload(file, at))
        return true
      }
    })
  ]
  if (!canWrite) extensions.push(EditorState.readOnly.of(true), EditorView.editable.of(false))
  // The editor's own styles go in <style> elements the page's Content-Security-Policy allows
  // by this request's nonce.
  if (d.styleNonce) extensions.push(EditorView.cspNonce.of(d.styleNonce))
  const view = new EditorView({ state: EditorState.create({ doc: ytext.toString(), extensions }), parent: host })
  let actions = {}

  // The pages of the space, for wiki links to pages that do not exist yet (shown in red to
  // those who may make them).
  if (canWrite) {
    fetch(`/api/spaces/${encodeURIComponent(d.space)}/pages`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((pages) => {
        if (!Array.isArray(pages)) return
        text.pages = new Set(pages.map((p) => p.slug))
        if (!codeSwitch || !codeSwitch.checked) view.dispatch({ effects: formatting.reconfigure(liveFormat(text)) })
      })
      .catch(() => {})
  }

  // Uploads: progress and failures are told in the status line; nothing is written unless the
  // file was taken.
  const say = (template, values) => Object.entries(values).reduce((t, [k, v]) => t.replace(`%{${k}}`, v), template)
  function upload (file, at) {
    let description = ''
    if (file.type.startsWith('image/')) {
      const answer = window.prompt(text.describe, '')
      if (answer === null) return
      description = answer
    }
    const body = new FormData()
    if (csrf) body.append('_csrf', csrf.value)
    body.append('description', description)
    body.append('file', file, file.name || 'image.png')
    const request = new XMLHttpRequest()
    request.open('POST', `/s/${encodeURIComponent(d.space)}/${encodeURIComponent(d.page)}/files`)
    request.setRequestHeader('accept', 'application/json')
    request.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return
      status.textContent = say(text.uploading, { name: file.name, percent: Math.round(100 * event.loaded / event.total) })
      status.dataset.state = 'uploading'
    })
    request.addEventListener('load', () => {
      let answer = {}
      try { answer = JSON.parse(request.responseText) } catch (_) {}
      if (request.status === 201 && typeof answer.markdown === 'string') {
        const position = Math.min(at, view.state.doc.length)
        const line = view.state.doc.lineAt(position)
        const insert = (position > line.from ? ' ' : '') + answer.markdown
        view.dispatch({ changes: { from: position, insert }, selection: { anchor: position + insert.length } })
        status.textContent = say(text.uploaded, { name: answer.name || file.name })
      } else {
        status.textContent = say(text.uploadFailed, { name: file.name, reason: answer.error || request.statusText })
      }
      status.dataset.state = request.status === 201 ? 'connected' : 'offline'
    })
    request.addEventListener('error', () => {
      status.textContent = say(text.uploadFailed, { name: file.name, reason: text.offline })
      status.dataset.state = 'offline'
    })
    request.send(body)
  }

  const codeSwitch = root.querySelector('[data-role=show-markdown]')
  if (codeSwitch) {
    codeSwitch.checked = showCode
    codeSwitch.addEventListener('change', () => {
      remember('ruche.showMarkdown', codeSwitch.checked ? '1' : '0')
      if (csrfToken()) {
        const body = new URLSearchParams({ _csrf: csrfToken(), show_markdown: codeSwitch.checked ? '1' : '0' })
        fetch('/account/editor', { method: 'POST', credentials: 'same-origin', body }).catch(() => {})
      }
      view.dispatch({ effects: formatting.reconfigure(codeSwitch.checked ? [] : liveFormat(text)) })
    })
  }
  // The preview beside the text: for those who like it (shown on wide screens unless hidden).
  const previewSwitch = root.querySelector('[data-role=show-preview]')
  const previewPane = root.querySelector('.preview-pane')
  if (previewSwitch && previewPane) {
    const chosen = remembered('ruche.showPreview')
    previewSwitch.checked = chosen === null ? window.matchMedia('(min-width: 60rem)').matches : chosen === '1'
    const apply = () => {
      previewPane.hidden = !previewSwitch.checked
      root.classList.toggle('without-preview', !previewSwitch.checked)
    }
    apply()
    previewSwitch.addEventListener('change', () => { remember('ruche.showPreview', previewSwitch.checked ? '1' : '0'); apply() })
  }

  // Preview: the server renders with the same renderer as the published page.
  let timer = null
  let lastRendered = null
  function schedulePreview () {
    clearTimeout(timer)
    timer = setTimeout(renderPreview, 400)
  }
  async function renderPreview () {
    const markdownText = ytext.toString()
    if (markdownText === lastRendered) return
    lastRendered = markdownText
    try {
      const response = await fetch('/api/render', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ space: d.space, markdown: markdownText })
      })
      if (!response.ok) return
      // Sanitised by the server's renderer; parsed apart (inert), then shown.
      const parsed = new DOMParser().parseFromString((await response.json()).html, 'text/html')
      preview.replaceChildren(...parsed.body.childNodes)
    } catch (_) { /* offline: the preview waits for the connection */ }
  }
  provider.on('sync', (synced) => { if (synced) renderPreview() })

  window.rucheEditor = { view, doc, provider }
  if (!canWrite) {
    toolbar.hidden = true
    return
  }

  // Toolbar: formatting for people who do not write Markdown.
  const wrap = (before, after, placeholder) => () => {
    const { from, to } = view.state.selection.main
    const selected = view.state.sliceDoc(from, to) || placeholder
    view.dispatch({
      changes: { from, to, insert: before + selected + after },
      selection: { anchor: from + before.length, head: from + before.length + selected.length }
    })
    view.focus()
  }
  // Line markers (heading, lists, checkboxes) go at the start of the line — of each selected
  // line — with the cursor after them, replacing another kind of marker; pressed again, they
  // come off. (Inserted at the cursor, what the person typed next landed before them.)
  const MARKERS = {
    h2: { test: /^## /, make: () => '## ' },
    h3: { test: /^### /, make: () => '### ' },
    h4: { test: /^#### /, make: () => '#### ' },
    bullets: { test: /^[-*+] (?!\[[ xX]\] )/, make: () => '- ' },
    numbers: { test: /^\d{1,9}[.)] /, make: (n) => `${n}. ` },
    checklist: { test: /^[-*+] \[[ xX]\] /, make: () => '- [ ] ' }
  }
  const ANY_MARKER = /^(#{1,6} |[-*+] \[[ xX]\] |[-*+] |\d{1,9}[.)] )/
  const lineMarker = (kind) => () => {
    const { state } = view
    const marker = MARKERS[kind]
    const { from, to } = state.selection.main
    const first = state.doc.lineAt(from).number
    let last = state.doc.lineAt(to).number
    // A selection ending at the very start of a line does not take that line.
    if (last > first && to === state.doc.line(last).from) last--
    const lines = []
    for (let n = first; n <= last; n++) lines.push(state.doc.line(n))
    const off = lines.every((line) => marker.test.test(line.text))
    let count = 0
    const changes = lines.map((line) => {
      const found = line.text.match(off ? marker.test : ANY_MARKER)
      const length = found ? found[0].length : 0
      return { from: line.from, to: line.from + length, insert: off ? '' : marker.make(++count) }
    })
    // A heading, or a line taken out of a list, right under a list or a quote would be read as
    // part of its last item: a blank line keeps them apart.
    const above = first > 1 ? state.doc.line(first - 1) : null
    if (above && above.text.trim() && (off || kind.startsWith('h')) && insideContainer(state, above.to)) {
      changes.unshift({ from: lines[0].from, insert: state.lineBreak })
    }
    const set = state.changes(changes)
    // Mapped forward: a cursor at the start of the line ends up after the new marker.
    view.dispatch({ changes: set, selection: state.selection.map(set, 1), scrollIntoView: true, userEvent: 'input' })
    view.focus()
  }
  // A table: after the line the cursor is on, apart from what is around it, with the cursor
  // in its first cell (the word there selected, so that typing replaces it).
  const insertTable = () => {
    const heading = `${text.column} 1`
    const block = `| ${heading} | ${text.column} 2 |\n| --- | --- |\n|  |  |`
    const { from, insert, start } = blockAround(view.state, view.state.selection.main.to, block)
    view.dispatch({ changes: { from, insert }, selection: { anchor: start + 2, head: start + 2 + heading.length }, scrollIntoView: true, userEvent: 'input' })
    view.focus()
  }
  // The link dialog: a page found by a word of its title (a wiki link), or a web address.
  const dialog = root.querySelector('[data-role=link-dialog]')
  const openLinkDialog = (asked) => () => {
    let focus = asked
    if (!dialog || typeof dialog.showModal !== 'function') return (focus === 'search' ? wrap('[[', ']]', text.pageName) : wrap('[', '](https://)', text.sample))()
    let { from, to } = view.state.selection.main
    // In a link already: the dialog changes that link, its label kept.
    const link = linkAround(view.state, from, to)
    let label = ''
    let address = ''
    if (link) {
      ({ from, to, label, address } = link)
      focus = link.wiki ? 'search' : 'url'
    }
    dialog.dataset.from = from
    dialog.dataset.to = to
    dialog.dataset.label = label
    // Selected words are the link's label, and the first words searched for.
    const selected = (label || view.state.sliceDoc(from, to)).slice(0, 100)
    const search = dialog.querySelector('#link-search')
    search.value = focus === 'search' ? selected : ''
    dialog.querySelector('#link-url').value = address
    dialog.querySelector('[data-role=link-results]').replaceChildren()
    dialog.showModal()
    dialog.querySelector(focus === 'search' ? '#link-search' : '#link-url').focus()
    if (search.value) search.dispatchEvent(new Event('input'))
  }
  const insertLink = (markdownLink) => {
    const from = Math.min(Number(dialog.dataset.from), view.state.doc.length)
    const to = Math.min(Number(dialog.dataset.to), view.state.doc.length)
    view.dispatch({ changes: { from, to, insert: markdownLink }, selection: { anchor: from + markdownLink.length } })
    view.focus()
  }
  if (dialog) {
    const search = dialog.querySelector('#link-search')
    const results = dialog.querySelector('[data-role=link-results]')
    let asked = 0
    search.addEventListener('input', () => {
      const words = search.value.trim()
      const mine = ++asked
      if (words.length < 2) { results.replaceChildren(); return }
      fetch(`/api/search?q=${encodeURIComponent(words)}`, { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.json() : { hits: [] }))
        .then((found) => {
          if (mine !== asked) return
          const hits = (Array.isArray(found.hits) ? found.hits : []).filter((h) => typeof h.url === 'string' && !h.url.includes('#')).slice(0, 8)
          if (!hits.length) {
            const none = document.createElement('li')
            none.textContent = text.noPage
            results.replaceChildren(none)
            return
          }
          results.replaceChildren(...hits.map((hit) => {
            const li = document.createElement('li')
            const button = document.createElement('button')
            button.type = 'button'
            button.className = 'secondary'
            const [, space, slug] = /^\/s\/([^/]+)\/([^/#?]+)/.exec(hit.url) || []
            button.textContent = String(hit.title).slice(0, 200)
            if (space && space !== d.space) button.append(` — ${String(hit.space_title || space).slice(0, 100)}`)
            button.addEventListener('click', () => {
              const chosen = dialog.dataset.label || view.state.sliceDoc(Number(dialog.dataset.from), Number(dialog.dataset.to))
              const label = (chosen || String(hit.title)).replace(/[\[\]|\n]/g, ' ').trim()
              const target = space === d.space ? slug : `${space}/${slug}`
              dialog.close('page')
              insertLink(`[[${target}|${label}]]`)
            })
            li.append(button)
            return li
          }))
        })
        .catch(() => {})
    })
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'url') return
      const address = dialog.querySelector('#link-url').value.trim()
      if (!/^(https?:\/\/|mailto:)/i.test(address)) return
      const from = Number(dialog.dataset.from)
      const to = Number(dialog.dataset.to)
      const label = dialog.dataset.label || view.state.sliceDoc(from, to) || address
      insertLink(`[${label.replace(/[\[\]]/g, ' ')}](${address.replace(/[()\s]/g, encodeURIComponent)})`)
    })
  }

  actions = {
    bold: () => { toggleEmphasis(view, 'bold', text.sample); view.focus() },
    italic: () => { toggleEmphasis(view, 'italic', text.sample); view.focus() },
    heading: () => {
      const menu = root.querySelector('#heading-menu')
      const button = root.querySelector('button[data-action=heading]')
      menu.hidden = !menu.hidden
      button.setAttribute('aria-expanded', String(!menu.hidden))
      if (!menu.hidden) menu.querySelector('button').focus()
    },
    h2: lineMarker('h2'),
    h3: lineMarker('h3'),
    h4: lineMarker('h4'),
    bullets: lineMarker('bullets'),
    numbers: lineMarker('numbers'),
    checklist: lineMarker('checklist'),
    link: openLinkDialog('url'),
    wikilink: openLinkDialog('search'),
    table: insertTable,
    addRow: () => { tableActions.addRow(view); view.focus() },
    removeRow: () => { tableActions.removeRow(view); view.focus() },
    addColumn: () => { tableActions.addColumn(view, `${text.column} ${(tableAt(view.state, view.state.selection.main.head)?.width || 0) + 1}`); view.focus() },
    removeColumn: () => { tableActions.removeColumn(view); view.focus() },
    file: () => {
      const input = document.createElement('input')
      input.type = 'file'
      input.addEventListener('change', () => { [...input.files].forEach((f) => upload(f, view.state.selection.main.head)) })
      input.click()
    },
    undo: () => { undoManager.undo(); view.focus() },
    redo: () => { undoManager.redo(); view.focus() }
  }
  // The table's own buttons, shown while the cursor is in a table.
  const tableTools = document.createElement('span')
  tableTools.className = 'table-tools'
  tableTools.hidden = true
  tableTools.setAttribute('role', 'group')
  tableTools.setAttribute('aria-label', text.tableTools || 'Tableau')
  for (const [action, label] of [['addRow', text.addRow], ['removeRow', text.removeRow], ['addColumn', text.addColumn], ['removeColumn', text.removeColumn]]) {
    const button = document.createElement('button')
    button.type = 'button'
    button.className = 'tool'
    button.dataset.action = action
    const span = document.createElement('span')
    span.className = 'tool-label'
    span.textContent = label || action
    button.append(span)
    tableTools.append(button)
  }
  const tableButton = toolbar.querySelector('button[data-action=table]')
  if (tableButton) tableButton.after(tableTools)
  else toolbar.append(tableTools)
  const showTableTools = () => { tableTools.hidden = !tableAt(view.state, view.state.selection.main.head) }
  afterUpdate = showTableTools

  toolbar.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]')
    // Each button is one step of its own to undo.
    undoManager.stopCapturing()
    if (button && actions[button.dataset.action]) actions[button.dataset.action]()
    undoManager.stopCapturing()
    // A heading level chosen: the menu closes.
    if (button && /^h[2-4]$/.test(button.dataset.action)) {
      root.querySelector('#heading-menu').hidden = true
      root.querySelector('button[data-action=heading]').setAttribute('aria-expanded', 'false')
    }
  })
}

// After `@`, the names of the people who may read the page: choosing one writes their handle
// (`@marie-dupont`), and saving tells them. The server decides who is offered.
function mentions (space, page) {
  const asked = new Map()
  const people = (typed) => {
    if (!asked.has(typed)) {
      const url = `/api/pages/${encodeURIComponent(space)}/${encodeURIComponent(page)}/people?q=${encodeURIComponent(typed)}`
      asked.set(typed, fetch(url, { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.json() : { people: [] }))
        .then((body) => (Array.isArray(body.people) ? body.people : []))
        .catch(() => { asked.delete(typed); return [] }))
    }
    return asked.get(typed)
  }
  return async (context) => {
    const word = context.matchBefore(/(^|[\s(])@[\p{L}\p{N}-]{0,40}$/u)
    if (!word) return null
    const at = word.text.indexOf('@')
    const typed = word.text.slice(at + 1)
    const found = await people(typed.toLowerCase())
    return {
      from: word.from + at,
      filter: false,
      options: found
        .filter((p) => typeof p.handle === 'string' && typeof p.name === 'string')
        .map((p) => ({ label: '@' + p.handle, detail: p.name.slice(0, 80), apply: '@' + p.handle + ' ' }))
    }
  }
}

// Enter: lists and quotes continue (lang-markdown's own command); on an empty item the list
// ends. The line after a list is then kept apart by a blank line: without one, what the person
// types next would be read as the end of the last item, lazily (CommonMark), on the page.
const insertNewlineContinueMarkup = insertNewlineContinueMarkupCommand({ nonTightLists: false })
function continueMarkup (view) {
  // Enter on a quote's empty line (`> `) ends the quote, as on a list's empty item.
  const { state: now } = view
  const here = now.selection.main
  const current = now.doc.lineAt(here.head)
  if (here.empty && here.head === current.to && /^ {0,3}> ?$/.test(current.text) && current.number > 1) {
    view.dispatch({ changes: { from: current.from, to: current.to, insert: now.lineBreak }, selection: { anchor: current.from + now.lineBreak.length }, userEvent: 'input', scrollIntoView: true })
    return true
  }
  let tr = null
  if (!insertNewlineContinueMarkup({ state: view.state, dispatch: (t) => { tr = t } })) return false
  const state = tr.state
  const head = state.selection.main.head
  const line = state.doc.lineAt(head)
  if (line.text === '' && line.number > 1 && state.doc.line(line.number - 1).text.trim() !== '' && insideContainer(state, line.from - 1)) {
    view.dispatch(view.state.update(
      { changes: tr.changes, selection: tr.selection, userEvent: 'input' },
      { changes: { from: line.from, insert: state.lineBreak }, selection: { anchor: head + state.lineBreak.length }, sequential: true, scrollIntoView: true }
    ))
    return true
  }
  view.dispatch(tr)
  return true
}

// Whether the position is in a list or a quote (text right after it would continue it).
function insideContainer (state, pos) {
  for (let node = syntaxTree(state).resolveInner(pos, -1); node; node = node.parent) {
    if (node.name === 'ListItem' || node.name === 'Blockquote') return true
  }
  return false
}

// The bold (`**`) or italic (`*`) span the selection is in or is, if any: pressed again, the
// button takes its marks off rather than adding more (`****` on the page).
function emphasisAround (state, from, to, kind) {
  const name = kind === 'bold' ? 'StrongEmphasis' : 'Emphasis'
  for (let node = syntaxTree(state).resolveInner(from, 1); node; node = node.parent) {
    if (node.name === name && node.from <= from && node.to >= to) return node
  }
  if (from === to) {
    for (let node = syntaxTree(state).resolveInner(from, -1); node; node = node.parent) {
      if (node.name === name && node.from <= from && node.to >= to) return node
    }
  }
  return null
}

function toggleEmphasis (view, kind, placeholder) {
  const { state } = view
  const marks = kind === 'bold' ? '**' : '*'
  let { from, to } = state.selection.main
  const around = emphasisAround(state, from, to, kind)
  if (around) {
    const inner = around.getChildren('EmphasisMark')
    if (inner.length === 2) {
      const changes = state.changes([{ from: inner[0].from, to: inner[0].to }, { from: inner[1].from, to: inner[1].to }])
      view.dispatch({ changes, selection: state.selection.map(changes), userEvent: 'input' })
      return
    }
  }
  // Marks typed right around the cursor with nothing between them (`****`): taken away.
  if (from === to && state.sliceDoc(from - marks.length, from + marks.length) === marks + marks) {
    view.dispatch({ changes: { from: from - marks.length, to: from + marks.length }, userEvent: 'delete' })
    return
  }
  // Spaces at the edges stay outside the marks (`** mot**` would not be bold).
  const selected = state.sliceDoc(from, to)
  from += selected.length - selected.trimStart().length
  to -= selected.length - selected.trimEnd().length
  if (to < from) to = from
  const words = state.sliceDoc(from, to) || placeholder
  view.dispatch({
    changes: { from, to, insert: marks + words + marks },
    selection: { anchor: from + marks.length, head: from + marks.length + words.length },
    userEvent: 'input'
  })
}

// A block (a table, a heading) needs a blank line before it when the line above has text,
// and one after it when text follows; otherwise it would be read as part of what is around.
function blockAround (state, at, block) {
  const line = state.doc.lineAt(at)
  const before = line.length ? state.lineBreak + state.lineBreak : (line.number > 1 && state.doc.line(line.number - 1).text.trim() ? state.lineBreak : '')
  const from = line.length ? line.to : line.from
  const next = line.number < state.doc.lines ? state.doc.line(line.number + 1) : null
  const after = next && next.text.trim() ? state.lineBreak + state.lineBreak : state.lineBreak
  return { from, insert: before + block + after, start: from + before.length }
}

// The link (`[label](address)`) or wiki link (`[[page|label]]`) the cursor or selection is in.
function linkAround (state, from, to) {
  for (let node = syntaxTree(state).resolveInner(from, 1); node; node = node.parent) {
    if ((node.name !== 'Link' && node.name !== 'WikiLink') || node.from > from || node.to < to) continue
    const text = state.sliceDoc(node.from, node.to)
    if (node.name === 'WikiLink') {
      const inner = text.slice(2, -2)
      const bar = inner.indexOf('|')
      return { from: node.from, to: node.to, wiki: true, label: bar >= 0 ? inner.slice(bar + 1) : inner, address: '' }
    }
    const marks = node.getChildren('LinkMark')
    const url = node.getChild('URL')
    if (marks.length < 2) return null
    return { from: node.from, to: node.to, wiki: false, label: state.sliceDoc(marks[0].to, marks[1].from), address: url ? state.sliceDoc(url.from, url.to) : '' }
  }
  return null
}
