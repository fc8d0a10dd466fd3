// The blocks a text shows as, read two ways into the same shape: from the editor as displayed
// (its lines' `data-md`, its table cells, its markers, its visible text) and from the server's
// HTML of the stored text. Each function runs in the page (page.evaluate) and returns a tree of
// { t, text?, n?, task?, rows?, c? }: t is h2…h6, p, pre, hr, table, q (quote), ul, ol, li.

// From the editor: each `.cm-line` tells its containers and block (`q:12 ul:20 li:20 p:22`);
// lines with the same tokens belong to the same block.
export function editorBlocks () {
  const norm = (s) => s.replace(/[\u200b\u00a0\s]+/g, ' ').trim()
  const visibleText = (el) => {
    const copy = el.cloneNode(true)
    for (const drop of copy.querySelectorAll('.cm-md-marker, input, img, .cm-widgetBuffer, .cm-md-image-far')) drop.remove()
    return copy.textContent
  }
  const root = { t: 'doc', c: [] }
  const strays = []
  for (const line of document.querySelectorAll('.cm-content > .cm-line')) {
    const md = line.dataset.md
    if (!md) {
      // Text on screen that belongs to no block the page shows.
      if (norm(visibleText(line))) strays.push(norm(visibleText(line)))
      continue
    }
    let node = root
    for (const token of md.split(' ')) {
      const [kind, id] = token.split(':')
      let last = node.c[node.c.length - 1]
      if (!last || last.id !== id || last.kind !== kind) {
        last = { kind, id, c: [], lines: [] }
        node.c.push(last)
      }
      node = last
    }
    if (line.dataset.n) {
      // The number shown belongs to the innermost item starting on this line.
      const items = []
      const find = (n) => { if (n.kind && n.kind.startsWith('li')) items.push(n); if (n.c.length) find(n.c[n.c.length - 1]) }
      find(root)
      items[items.length - 1].n = Number(line.dataset.n)
    }
    if (node.kind === 'tr') node.cells = [...line.querySelectorAll('.cm-md-cell')].map((c) => norm(visibleText(c)))
    else node.lines.push(visibleText(line))
  }
  const shape = (node) => {
    if (node.kind === 'table') return { t: 'table', rows: node.c.map((r) => r.cells) }
    const out = { t: node.kind.replace(/-task$/, '') }
    if (node.kind === 'li-task') out.task = true
    if (node.n !== undefined) out.n = node.n
    if (/^(h\d|p)$/.test(out.t)) out.text = norm(node.lines.join(' '))
    if (node.c.length) out.c = node.c.map(shape)
    return out
  }
  const blocks = root.c.map(shape)
  if (strays.length) blocks.push({ t: 'text outside any block', text: strays.join(' / ') })
  return blocks
}

// From the server's HTML: the same tree (a tight list item's text is its paragraph).
export function pageBlocks (html) {
  const norm = (s) => s.replace(/[\u200b\u00a0\s]+/g, ' ').trim()
  const doc = new DOMParser().parseFromString(html, 'text/html')
  const BLOCK = /^(H[1-6]|P|UL|OL|LI|BLOCKQUOTE|PRE|HR|TABLE|DIV|SECTION)$/
  const textOf = (nodes) => norm(nodes.map((n) => {
    if (n.nodeType !== 1) return n.textContent
    const copy = n.cloneNode(true)
    for (const drop of (copy.matches('span.task') ? [copy] : copy.querySelectorAll('span.task'))) drop.textContent = ''
    for (const br of copy.querySelectorAll('br')) br.replaceWith(' ')
    return copy.tagName === 'BR' ? ' ' : copy.textContent
  }).join(''))
  const blocks = (el) => {
    const out = []
    let inline = []
    const flush = () => {
      const real = inline.filter((n) => n.nodeType === 1 || /\S/.test(n.textContent))
      if (real.length) out.push({ t: 'p', text: textOf(inline) })
      inline = []
    }
    for (const child of el.childNodes) {
      if (child.nodeType === 1 && BLOCK.test(child.tagName)) { flush(); out.push(...convert(child)) } else inline.push(child)
    }
    flush()
    return out
  }
  const convert = (el) => {
    const tag = el.tagName
    if (/^H\d$/.test(tag)) return [{ t: tag.toLowerCase(), text: textOf([...el.childNodes]) }]
    if (tag === 'P') return [{ t: 'p', text: textOf([...el.childNodes]) }]
    if (tag === 'PRE') return [{ t: 'pre' }]
    if (tag === 'HR') return [{ t: 'hr' }]
    if (tag === 'BLOCKQUOTE') return [withChildren({ t: 'q' }, blocks(el))]
    if (tag === 'TABLE') return [{ t: 'table', rows: [...el.querySelectorAll('tr')].map((tr) => [...tr.children].map((cell) => textOf([...cell.childNodes]))) }]
    if (tag === 'UL' || tag === 'OL') {
      const start = tag === 'OL' ? Number(el.getAttribute('start') || 1) : 0
      return [withChildren({ t: tag.toLowerCase() }, [...el.children].filter((li) => li.tagName === 'LI').map((li, i) => {
        const item = { t: 'li' }
        const first = [...li.childNodes].find((n) => n.nodeType === 1 || /\S/.test(n.textContent))
        if (first && first.nodeType === 1 && (first.matches('span.task') || first.querySelector(':scope > span.task:first-child'))) item.task = true
        if (tag === 'OL') item.n = start + i
        return withChildren(item, blocks(li))
      }))]
    }
    return blocks(el)
  }
  const withChildren = (node, c) => (c.length ? { ...node, c } : node)
  return blocks(doc.body)
}
