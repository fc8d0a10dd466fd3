// The editor shows what the page will show: for every text of a corpus chosen to be tricky, and
// after every script of what people do with the toolbar and the keyboard, the blocks the editor
// displays (headings and their level, lists and their nesting, items and their numbers,
// paragraphs, tables and their cells, quotes, code) equal those of the server's HTML for the
// stored text. Run by tests/it/browser.rs (the_editor_shows_what_the_page_will_show).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { editorBlocks, pageBlocks } from './structure.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const web = path.join(here, '..', '..', 'web')
const require = createRequire(path.join(web, 'package.json'))
const { chromium } = require('playwright-core')

const base = process.env.RUCHE_URL
const password = process.env.RUCHE_PASSWORD
const token = process.env.RUCHE_TOKEN
const shots = process.env.RUCHE_SCREENSHOTS
const TIMEOUT = 20000
const SPACE = 'atelier'
const PAGE = 'essai'
const texts = JSON.parse(fs.readFileSync(path.join(here, 'corpus', 'texts.json'), 'utf8'))
const scripts = JSON.parse(fs.readFileSync(path.join(here, 'corpus', 'scripts.json'), 'utf8'))

let browser, context, page
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } })
  // While changing the editor: its script and styles from the working tree (see browser.rs).
  if (process.env.RUCHE_ASSETS) {
    await context.route(/\/assets\/editor[^/]*\.js/, (route) => route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(path.join(process.env.RUCHE_ASSETS, 'dist', 'editor.js')) }))
    await context.route(/\/assets\/ruche[^/]*\.css/, (route) => route.fulfill({ contentType: 'text/css', body: fs.readFileSync(path.join(process.env.RUCHE_ASSETS, 'static', 'ruche.css')) }))
  }
  page = await context.newPage()
  page.setDefaultTimeout(TIMEOUT)
  await page.goto(`${base}/login`)
  await page.fill('#f-email', 'camille@example.org')
  await page.fill('#f-password', password)
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('main form button[type=submit]')])
  await openEditor()
})
after(async () => { await browser?.close() })

async function openEditor () {
  await page.goto(`${base}/s/${SPACE}/${PAGE}/edit`)
  await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
  await page.waitForSelector('[data-role=status][data-state=connected]')
  if (await page.isChecked('[data-role=show-markdown]')) await page.uncheck('[data-role=show-markdown]')
}

const editorText = () => page.evaluate(() => window.rucheEditor.view.state.doc.toString())
async function storedText () {
  const response = await fetch(`${base}/api/pages/${SPACE}/${PAGE}`, { headers: { authorization: `Bearer ${token}` } })
  return (await response.json()).markdown
}

// The text put in the editor as one edit, with the cursor where `§` is (else at the end).
async function setText (text) {
  const at = text.indexOf('§')
  const clean = text.replace('§', '')
  await page.evaluate(([t, at]) => {
    const v = window.rucheEditor.view
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: t }, selection: { anchor: at < 0 ? t.length : at } })
    v.focus()
  }, [clean, at])
}

// The stored text (once the server has it), the blocks its HTML shows, and the blocks the
// editor shows, the editor not focused (nothing revealed for the person typing).
async function compare () {
  const text = await editorText()
  const deadline = Date.now() + TIMEOUT
  while ((await storedText()) !== text) {
    if (Date.now() > deadline) assert.fail(`the server never stored ${JSON.stringify(text)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const html = await page.evaluate(async ([space, markdown]) => {
    const response = await fetch('/api/render', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ space, markdown }) })
    return (await response.json()).html
  }, [SPACE, text])
  await page.evaluate(() => window.rucheEditor.view.contentDOM.blur())
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))))
  const shown = await page.evaluate(editorBlocks)
  const expected = await page.evaluate(pageBlocks, html)
  return { text, html, shown, expected }
}

const explain = ({ text, html, shown, expected }) =>
  `text: ${JSON.stringify(text)}\npage HTML: ${html}\neditor: ${JSON.stringify(shown)}\npage:   ${JSON.stringify(expected)}`

test(`each of the ${texts.length} texts of the corpus shows in the editor as on the page`, async () => {
  assert.ok(texts.length >= 40 && scripts.length >= 15, 'the corpus holds 40 texts and 15 scripts at least')
  const failures = []
  for (const { name, text } of texts) {
    await setText(text)
    const result = await compare()
    try { assert.deepEqual(result.shown, result.expected) } catch (_) { failures.push(`— ${name}\n${explain(result)}`) }
  }
  assert.equal(failures.length, 0, `${failures.length} of ${texts.length} texts show otherwise in the editor:\n${failures.join('\n\n')}`)
})

async function step ([what, arg, extra]) {
  switch (what) {
    case 'type': await page.keyboard.type(arg); break
    case 'press': await page.keyboard.press(arg); break
    case 'click': {
      if (/^h[2-4]$/.test(arg)) await page.click('button[data-action=heading]')
      await page.click(`button[data-action=${arg}]`)
      break
    }
    case 'select': {
      await page.evaluate((words) => {
        const v = window.rucheEditor.view
        const at = v.state.doc.toString().indexOf(words)
        v.dispatch({ selection: { anchor: at, head: at + words.length } })
        v.focus()
      }, arg)
      break
    }
    case 'cursor': {
      // The cursor inside the first occurrence of the words.
      await page.evaluate((words) => {
        const v = window.rucheEditor.view
        v.dispatch({ selection: { anchor: v.state.doc.toString().indexOf(words) + 1 } })
        v.focus()
      }, arg)
      break
    }
    case 'fill': await page.fill(arg, extra); break
    case 'clickOn': await page.click(arg); break
    case 'expect': assert.match(await editorText(), new RegExp(arg)); break
    default: throw new Error(`unknown step ${what}`)
  }
}

test(`after each of the ${scripts.length} scripts of toolbar and keyboard actions, the editor shows what the page shows`, async () => {
  const failures = []
  for (const { name, text, steps } of scripts) {
    await setText(text)
    await page.evaluate(() => window.rucheEditor.view.focus())
    try {
      for (const s of steps) await step(s)
      const result = await compare()
      try { assert.deepEqual(result.shown, result.expected) } catch (_) { failures.push(`— ${name}\n${explain(result)}`) }
    } catch (error) {
      failures.push(`— ${name}\n${error.message}\ntext: ${JSON.stringify(await editorText())}`)
    }
  }
  assert.equal(failures.length, 0, `${failures.length} of ${scripts.length} scripts went wrong:\n${failures.join('\n\n')}`)
})

test('undo takes back one action of the person\'s own, not what another person wrote meanwhile', async () => {
  await setText('')
  const other = await context.newPage()
  await other.goto(`${base}/s/${SPACE}/${PAGE}/edit`)
  await other.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
  await page.bringToFront()
  await page.evaluate(() => window.rucheEditor.view.focus())
  await page.keyboard.type('Le mien.')
  await other.waitForFunction(() => window.rucheEditor.view.state.doc.toString() === 'Le mien.')
  await other.evaluate(() => { const v = window.rucheEditor.view; v.dispatch({ changes: { from: v.state.doc.length, insert: ' Celui de l\'autre.' } }) })
  await page.waitForFunction(() => window.rucheEditor.view.state.doc.toString().endsWith('autre.'))
  await page.evaluate(() => window.rucheEditor.view.focus())
  await page.keyboard.press('Control+z')
  assert.equal(await editorText(), ' Celui de l\'autre.')
  await other.close()
})

test('screenshots of the editor with a list, a table, headings and a link, at 390 and 1280 px', async () => {
  await setText('# Réunion du groupe\n\n## Présents\n\n- Camille\n- Sophie\n  - pour la matinée\n\n### Ordre du jour\n\n1. Accueil\n2. Budget\n\nVoir [[feuille-de-route|la feuille de route]] et [le site](https://example.org).\n\n| Qui | Quoi |\n| --- | --- |\n| Camille | **compte rendu** |\n\n- [ ] envoyer le compte rendu\n')
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 })
    await page.evaluate(() => window.rucheEditor.view.contentDOM.blur())
    await page.locator('.cm-editor').screenshot({ path: path.join(shots, `60-editor-blocks-${width}.png`) })
    await page.screenshot({ path: path.join(shots, `60-editor-page-${width}.png`), fullPage: true })
  }
  // The cursor in the table: the grid stays, with its buttons.
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.click('.cm-md-cell >> text=Camille')
  await page.waitForSelector('.table-tools:not([hidden])')
  await page.screenshot({ path: path.join(shots, '61-editor-table-cursor-1280.png') })
})
