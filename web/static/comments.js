// A page's discussion, kept current while it is open: each change of a comment arrives as its
// id (server-sent events); the thread holding it is then asked for again, as this reader sees
// it, and put in place. Without this script the discussion works as plain forms and links.
(function () {
  'use strict'
  var section = document.getElementById('discussion')
  if (!section || !window.EventSource || !window.fetch) return
  var base = section.getAttribute('data-base')
  var threads = section.querySelector('[data-role=threads]')
  var count = section.querySelector('[data-role=comment-count]')
  var none = section.querySelector('[data-role=no-comment]')
  var countText = count ? count.textContent : ''

  function recount () {
    var shown = section.querySelectorAll('article.comment:not(.gone):not(.hidden)').length
    if (count) count.textContent = countText.replace(/\d+/, String(shown))
    if (none) none.hidden = threads.children.length > 0
  }

  // A reply being written in a thread stays as it is when the thread is put in again.
  function keepTyping (current, fresh) {
    var typing = current.querySelector('details.reply')
    var area = typing && typing.querySelector('textarea')
    if (!area || !area.value) return
    var slot = fresh.querySelector('details.reply')
    if (slot) slot.replaceWith(typing)
  }

  function refresh (id) {
    fetch(base + '/comments/' + id + '/thread', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        var top = response.headers.get('x-thread')
        if (!top || !/^\d+$/.test(top)) return
        var current = document.getElementById('thread-' + top)
        if (response.status === 204) {
          if (current) current.remove()
          recount()
          return
        }
        if (!response.ok) return
        return response.text().then(function (html) {
          var parsed = new DOMParser().parseFromString('<ol>' + html + '</ol>', 'text/html')
          var fresh = parsed.querySelector('li.thread')
          if (!fresh || fresh.id !== 'thread-' + top) return
          fresh = document.importNode(fresh, true)
          if (current) {
            keepTyping(current, fresh)
            current.replaceWith(fresh)
          } else {
            threads.appendChild(fresh)
          }
          recount()
        })
      })
      .catch(function () { /* the next change, or a reload, shows it */ })
  }

  var source = new EventSource(section.getAttribute('data-events'))
  source.addEventListener('comment', function (event) {
    if (/^\d+$/.test(event.data)) refresh(event.data)
  })
  window.addEventListener('pagehide', function () { source.close() })
})()
