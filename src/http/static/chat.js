// Comptoir web chat page: plain ES2017, no dependencies, no build step.
//
// Everything the shop says comes from the server and is put on the page as text nodes (never as
// HTML); only the page's own few words below live here. The session token and the transcript are
// kept in sessionStorage (this tab only, gone when it closes), so a reload continues the chat.
(function () {
  'use strict';

  var STRINGS = {
    en: {
      title: 'Chat with the shop', conversation: 'Conversation', message: 'Message', send: 'Send',
      you: 'You:', shop: 'Shop:', options: 'Options', newTab: '(opens in a new tab)', hello: 'hello',
      notSent: '(not sent)', retry: 'Try again',
      wait: 'Too many messages at once. Your message will be sent in {s} s.',
      failed: 'Sorry, your message could not be sent.',
      offline: 'The shop cannot be reached right now. Please check your connection.'
    },
    fr: {
      title: 'Discuter avec la boutique', conversation: 'Conversation', message: 'Message', send: 'Envoyer',
      you: 'Vous :', shop: 'Boutique :', options: 'Choix', newTab: '(s’ouvre dans un nouvel onglet)',
      hello: 'bonjour', notSent: '(non envoyé)', retry: 'Réessayer',
      wait: 'Trop de messages d’un coup. Votre message partira dans {s} s.',
      failed: 'Désolé, votre message n’a pas pu être envoyé.',
      offline: 'La boutique est injoignable pour le moment. Vérifiez votre connexion.'
    },
    de: {
      title: 'Mit dem Laden chatten', conversation: 'Unterhaltung', message: 'Nachricht', send: 'Senden',
      you: 'Sie:', shop: 'Laden:', options: 'Auswahl', newTab: '(öffnet in einem neuen Tab)', hello: 'hallo',
      notSent: '(nicht gesendet)', retry: 'Erneut versuchen',
      wait: 'Zu viele Nachrichten auf einmal. Ihre Nachricht wird in {s} s gesendet.',
      failed: 'Ihre Nachricht konnte leider nicht gesendet werden.',
      offline: 'Der Laden ist gerade nicht erreichbar. Bitte prüfen Sie Ihre Verbindung.'
    }
  };

  var STORAGE_KEY = 'comptoir.webchat.v1';
  var MAX_STORED = 120;      // transcript entries kept across reloads
  var POLL_MS = 4000;        // how often to ask for shop news
  var MAX_ATTEMPTS = 4;      // per message, counting waits after 429 and one new session after 401

  var log = document.getElementById('log');
  var form = document.getElementById('form');
  var input = document.getElementById('text');
  var sendButton = document.getElementById('send');
  var statusLine = document.getElementById('status');
  var typing = document.getElementById('typing');

  var lang = pickLanguage();
  var t = STRINGS[lang];
  var state = { session: null, after: 0, entries: [] };
  var queue = Promise.resolve();  // messages are delivered one after the other, in order
  var busy = 0;
  var pollTimer = null;
  var polling = false;
  var ids = 0;
  var currentGroup = null;
  var reducedMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)');

  function pickLanguage() {
    var list = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || 'en'];
    for (var i = 0; i < list.length; i++) {
      var primary = String(list[i]).toLowerCase().split('-')[0];
      if (Object.prototype.hasOwnProperty.call(STRINGS, primary)) return primary;
    }
    return 'en';
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }

  function applyChrome() {
    document.documentElement.lang = lang;
    document.title = t.title;
    document.getElementById('title').textContent = t.title;
    document.getElementById('text-label').textContent = t.message;
    sendButton.textContent = t.send;
    log.setAttribute('aria-label', t.conversation);
  }

  // ---- storage ------------------------------------------------------------------------------

  function cleanOptions(list) {
    if (!Array.isArray(list)) return [];
    return list.filter(function (o) {
      return o && typeof o.id === 'string' && typeof o.title === 'string';
    }).map(function (o) {
      var c = { id: o.id, title: o.title };
      if (typeof o.description === 'string' && o.description) c.description = o.description;
      return c;
    });
  }

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || 'null');
      if (!saved || typeof saved !== 'object') return;
      if (typeof saved.session === 'string' && /^wcs_[A-Za-z0-9_-]+$/.test(saved.session)) state.session = saved.session;
      if (typeof saved.after === 'number' && saved.after >= 0) state.after = saved.after;
      if (Array.isArray(saved.entries)) {
        state.entries = saved.entries.filter(function (e) {
          return e && (e.who === 'me' || e.who === 'shop') && typeof e.text === 'string';
        }).map(function (e) {
          return { who: e.who, text: e.text, options: cleanOptions(e.options), failed: e.failed === true };
        });
      }
    } catch (e) {
      // Storage disabled or garbage in it: start afresh.
    }
  }

  function save() {
    try {
      var entries = state.entries.slice(-MAX_STORED).map(function (e) {
        return { who: e.who, text: e.text, options: e.options, failed: e.failed };
      });
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ session: state.session, after: state.after, entries: entries }));
    } catch (e) {
      // Storage full or disabled: the chat still works, a reload just starts over.
    }
  }

  // ---- rendering ----------------------------------------------------------------------------

  function hidden(text) {
    var s = document.createElement('span');
    s.className = 'vh';
    s.textContent = text;
    return s;
  }

  function link(url) {
    var ok = false;
    try {
      var u = new URL(url);
      ok = u.protocol === 'https:' || u.protocol === 'http:';
    } catch (e) {
      ok = false;
    }
    if (!ok) return document.createTextNode(url);
    var a = document.createElement('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = url;
    a.appendChild(hidden(' ' + t.newTab));
    return a;
  }

  // Text with "\n" kept (CSS white-space: pre-wrap) and web addresses turned into links.
  function appendText(parent, text) {
    var re = /https?:\/\/[^\s<>"'`]+/g;
    var last = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      var url = m[0].replace(/[.,;:!?)\]}]+$/, '');
      if (url.length < 10) continue;
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      parent.appendChild(link(url));
      last = m.index + url.length;
      re.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function optionButton(option) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'option';
    var title = document.createElement('span');
    title.className = 'opt-title';
    title.textContent = option.title;
    b.appendChild(title);
    if (option.description) {
      title.id = 'o' + (++ids);
      var d = document.createElement('span');
      d.className = 'opt-desc';
      d.id = 'o' + (++ids);
      d.textContent = option.description;
      b.appendChild(d);
      b.classList.add('has-desc');
      b.setAttribute('aria-labelledby', title.id);
      b.setAttribute('aria-describedby', d.id);
    }
    b.addEventListener('click', function () {
      send({ option: option.id }, option.title, true);
    });
    return b;
  }

  function render(entry, fresh) {
    var item = document.createElement('div');
    item.className = 'msg ' + (entry.who === 'me' ? 'msg-me' : 'msg-shop') + (fresh ? ' new' : '');
    var bubble = document.createElement('p');
    bubble.className = 'bubble';
    bubble.appendChild(hidden((entry.who === 'me' ? t.you : t.shop) + ' '));
    var body = document.createElement('span');
    body.className = 'text';
    body.id = 'm' + (++ids);
    appendText(body, entry.text);
    bubble.appendChild(body);
    item.appendChild(bubble);
    if (entry.who === 'shop' && entry.options && entry.options.length) {
      var group = document.createElement('div');
      group.className = 'options current';
      group.setAttribute('role', 'group');
      if (entry.text) group.setAttribute('aria-labelledby', body.id);
      else group.setAttribute('aria-label', t.options);
      entry.options.forEach(function (o) { group.appendChild(optionButton(o)); });
      item.appendChild(group);
      // Older choices keep working (the server accepts them) but step back visually.
      if (currentGroup) currentGroup.classList.remove('current');
      currentGroup = group;
    }
    entry.el = item;
    if (entry.failed) markFailed(entry);
    log.appendChild(item);
    return item;
  }

  function addEntry(entry) {
    state.entries.push(entry);
    if (state.entries.length > MAX_STORED * 2) state.entries = state.entries.slice(-MAX_STORED);
    render(entry, true);
    save();
    return entry;
  }

  function markFailed(entry) {
    if (!entry || !entry.el || entry.el.classList.contains('failed')) return;
    entry.failed = true;
    entry.el.classList.add('failed');
    var note = document.createElement('span');
    note.className = 'note';
    note.textContent = t.notSent;
    entry.el.appendChild(note);
  }

  function markSent(entry) {
    if (!entry || !entry.failed) return;
    entry.failed = false;
    if (entry.el) {
      entry.el.classList.remove('failed');
      var note = entry.el.querySelector('.note');
      if (note) note.parentNode.removeChild(note);
    }
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  // Scrolls so the end of the conversation shows, unless that would hide the start of `first`
  // (a long reply): then its start is shown.
  function reveal(first, instant) {
    var max = log.scrollHeight - log.clientHeight;
    var top = first ? Math.min(max, first.offsetTop - 12) : max;
    if (top < 0) top = 0;
    var smooth = !instant && !(reducedMotion && reducedMotion.matches);
    if (log.scrollTo) log.scrollTo({ top: top, behavior: smooth ? 'smooth' : 'auto' });
    else log.scrollTop = top;
  }

  function setBusy(delta) {
    busy += delta;
    typing.hidden = busy <= 0;
  }

  function showStatus(text, retry) {
    var stick = nearBottom();
    clearStatus();
    var p = document.createElement('p');
    p.className = 'error';
    p.textContent = text;
    if (retry) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'retry';
      b.textContent = t.retry;
      b.addEventListener('click', retry);
      p.appendChild(document.createTextNode(' '));
      p.appendChild(b);
    }
    statusLine.appendChild(p);
    if (stick) reveal(null, true);  // the line takes room from the conversation: keep its end in view
  }

  function clearStatus() {
    var hadFocus = statusLine.contains(document.activeElement);
    while (statusLine.firstChild) statusLine.removeChild(statusLine.firstChild);
    if (hadFocus) input.focus();
  }

  // ---- talking to the server ----------------------------------------------------------------

  function retryAfterSeconds(value) {
    var s = parseInt(value, 10);
    if (!(s >= 0) && value) {
      var when = Date.parse(value);
      if (!isNaN(when)) s = Math.ceil((when - Date.now()) / 1000);
    }
    if (!(s >= 1)) s = 1;
    return Math.min(s, 300);
  }

  function request(method, path, body) {
    var headers = {};
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'same-origin' };
    if (path !== '/webchat/v1/sessions' && state.session) headers.Authorization = 'Bearer ' + state.session;
    if (method === 'POST') {
      if (body) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      } else {
        init.body = '';  // Content-Length: 0
      }
    }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        return { status: res.status, json: json, retryAfter: retryAfterSeconds(res.headers.get('Retry-After')) };
      });
    });
  }

  // Resolves to null when there is a session, or to the failed response.
  function ensureSession() {
    if (state.session) return Promise.resolve(null);
    return request('POST', '/webchat/v1/sessions', null).then(function (r) {
      if (r.status === 201 && r.json && typeof r.json.session === 'string') {
        state.session = r.json.session;
        state.after = 0;
        save();
        schedulePoll(POLL_MS);
        return null;
      }
      return r;
    });
  }

  function dropSession() {
    state.session = null;
    state.after = 0;
    clearTimeout(pollTimer);
    pollTimer = null;
    save();
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  async function deliver(body, entry, fromOption) {
    setBusy(1);
    try {
      for (var attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        var r;
        try {
          r = await ensureSession();
          if (!r) r = await request('POST', '/webchat/v1/messages', body);
        } catch (e) {
          fail(body, entry, fromOption, t.offline);
          return;
        }
        if (r.status === 200) {
          clearStatus();
          markSent(entry);
          showReplies(r.json && Array.isArray(r.json.replies) ? r.json.replies : [], fromOption);
          return;
        }
        if (r.status === 401 && attempt === 1) {
          dropSession();  // the session is no longer valid: start a new one and try again
          continue;
        }
        if (r.status === 429 && attempt < MAX_ATTEMPTS) {
          showStatus(format(t.wait, { s: r.retryAfter }));
          await delay(r.retryAfter * 1000);
          continue;
        }
        fail(body, entry, fromOption, r.status >= 500 || r.status === 429 ? t.offline : t.failed);
        return;
      }
    } finally {
      setBusy(-1);
    }
  }

  function fail(body, entry, fromOption, text) {
    markFailed(entry);
    save();
    showStatus(text, function () {
      clearStatus();
      queue = queue.then(function () { return deliver(body, entry, fromOption); });
    });
  }

  function showReplies(replies, fromOption) {
    var first = null;
    var lastGroup = null;
    replies.forEach(function (r) {
      if (!r || typeof r.text !== 'string') return;
      var e = addEntry({ who: 'shop', text: r.text, options: cleanOptions(r.options) });
      if (!first) first = e.el;
      lastGroup = e.el.querySelector('.options') || lastGroup;
    });
    save();
    reveal(first, false);
    if (fromOption) {
      // After choosing an option, go on with the new choices (or the text box when there are
      // none) — unless the user has meanwhile moved somewhere else on purpose.
      var active = document.activeElement;
      var idle = !active || active === document.body || (active.classList && active.classList.contains('option'));
      var target = lastGroup ? lastGroup.querySelector('button') : input;
      if (idle && target) target.focus({ preventScroll: true });
    }
  }

  function send(body, shown, fromOption) {
    var entry = null;
    if (shown !== null) {
      entry = addEntry({ who: 'me', text: shown });
      reveal(null, false);
    }
    queue = queue.then(function () { return deliver(body, entry, fromOption); });
    return queue;
  }

  // ---- shop news ----------------------------------------------------------------------------

  function schedulePoll(ms) {
    clearTimeout(pollTimer);
    pollTimer = state.session ? setTimeout(poll, ms) : null;
  }

  async function poll() {
    pollTimer = null;
    if (!state.session || polling || document.hidden) return;  // visibilitychange restarts it
    polling = true;
    var next = POLL_MS;
    try {
      var r = await request('GET', '/webchat/v1/messages?after=' + state.after, null);
      if (r.status === 200 && r.json && Array.isArray(r.json.messages)) {
        var stick = nearBottom();
        var first = null;
        r.json.messages.forEach(function (m) {
          if (!m || typeof m.id !== 'number' || m.id <= state.after || typeof m.text !== 'string') return;
          state.after = m.id;
          var e = addEntry({ who: 'shop', text: m.text, options: cleanOptions(m.options) });
          if (!first) first = e.el;
        });
        if (typeof r.json.last_id === 'number' && r.json.last_id > state.after) state.after = r.json.last_id;
        save();
        if (first && stick) reveal(first, false);
      } else if (r.status === 401) {
        dropSession();
        return;
      } else {
        next = POLL_MS * 4;
      }
    } catch (e) {
      next = POLL_MS * 4;  // offline: try again later, quietly
    } finally {
      polling = false;
    }
    schedulePoll(next);
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && state.session && !polling) schedulePoll(0);
  });

  // ---- start --------------------------------------------------------------------------------

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.replace(/^\s+|\s+$/g, '');
    input.focus();
    if (!text) return;
    input.value = '';
    send({ text: text }, text, false);
  });

  applyChrome();
  load();
  if (state.entries.length) {
    // Put the earlier conversation back without having a screen reader read it all out again.
    log.setAttribute('aria-live', 'off');
    state.entries.forEach(function (e) { render(e, false); });
    reveal(null, true);
    setTimeout(function () { log.setAttribute('aria-live', 'polite'); }, 1000);
  }
  if (state.session) schedulePoll(0);
  if (!state.entries.length) send({ text: t.hello }, null, false);  // the shop answers with its menu
})();
