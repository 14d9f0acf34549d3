// Comptoir privacy page: the forms of a data-subject request. Plain ES2017, no dependencies.
//
// Step 1 opens a request (POST /privacy/v1/requests) and always gets the same answer, whether
// or not the shop knows the chat; step 2 sends the code from the chat (POST …/verify) and shows
// the outcome: a one-time download link, the signed erasure receipt, or a confirmation. Every
// word shown comes from the page (data-* attributes, in the page's language) and is put in as
// text, never as HTML.
(function () {
  'use strict';

  var section = document.getElementById('requests');
  if (!section) return;
  var requestForm = document.getElementById('request-form');
  var codeForm = document.getElementById('code-form');
  var type = document.getElementById('rq-type');
  var channel = document.getElementById('rq-channel');
  var address = document.getElementById('rq-address');
  var changes = document.getElementById('rq-changes');
  var name = document.getElementById('rq-name');
  var delivery = document.getElementById('rq-delivery');
  var code = document.getElementById('rq-code');
  var statusLine = document.getElementById('rq-status');
  var result = document.getElementById('rq-result');
  var requestId = null;

  function say(key, values) {
    var text = section.getAttribute('data-' + key) || '';
    Object.keys(values || {}).forEach(function (k) { text = text.replace('{' + k + '}', String(values[k])); });
    statusLine.textContent = text;
  }

  // The web chat of this site keeps its session in this tab's storage: offer it.
  function suggestSession() {
    if (channel.value !== 'webchat' || address.value) return;
    try {
      var saved = JSON.parse(window.sessionStorage.getItem('comptoir.webchat.v1') || 'null');
      if (saved && typeof saved.session === 'string') address.value = saved.session;
    } catch (e) { /* no storage: the customer types it */ }
  }

  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit'
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) { return { status: res.status, body: json }; });
    });
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll('button, input, select'), function (el) { el.disabled = on; });
  }

  function restart() {
    requestId = null;
    codeForm.hidden = true;
    requestForm.hidden = false;
    code.value = '';
  }

  type.addEventListener('change', function () { changes.hidden = type.value !== 'rectification'; });
  channel.addEventListener('change', suggestSession);

  requestForm.addEventListener('submit', function (event) {
    event.preventDefault();
    result.hidden = true;
    result.textContent = '';
    var body = { type: type.value, channel: channel.value, address: address.value.trim() };
    if (type.value === 'rectification') {
      body.changes = {};
      if (name.value.trim()) body.changes.recipient_name = name.value.trim();
      if (delivery.value.trim()) body.changes.delivery_address = delivery.value.trim();
    }
    if (!body.address || (body.changes && !Object.keys(body.changes).length)) {
      say('invalid');
      return;
    }
    busy(requestForm, true);
    post('/privacy/v1/requests', body).then(function (r) {
      busy(requestForm, false);
      if (r.status === 202 && r.body.request_id) {
        requestId = r.body.request_id;
        requestForm.hidden = true;
        codeForm.hidden = false;
        say('sent');
        code.focus();
      } else if (r.status === 429) {
        say('busy');
      } else if (r.status === 400 || r.status === 413) {
        say('invalid');
      } else {
        say('failed');
      }
    }, function () {
      busy(requestForm, false);
      say('failed');
    });
  });

  codeForm.addEventListener('submit', function (event) {
    event.preventDefault();
    var value = code.value.replace(/\s+/g, '');
    if (!/^[0-9]{6,8}$/.test(value)) {
      say('invalid');
      return;
    }
    busy(codeForm, true);
    post('/privacy/v1/requests/' + encodeURIComponent(requestId) + '/verify', { code: value }).then(function (r) {
      busy(codeForm, false);
      if (r.status === 200) {
        say('done');
        show(r.body);
        restart();
      } else if (r.status === 403) {
        say('wrong', { n: (r.body.error && r.body.error.attempts_left) || 0 });
        code.select();
      } else if (r.status === 423) {
        say('locked');
        restart();
      } else if (r.status === 410) {
        say('expired');
        restart();
      } else if (r.status === 429) {
        say('busy');
      } else if (r.status === 400) {
        say('invalid');
      } else {
        say('failed');
        restart();
      }
    }, function () {
      busy(codeForm, false);
      say('failed');
    });
  });

  function show(outcome) {
    result.textContent = '';
    if (outcome.export_url) {
      var link = document.createElement('a');
      link.href = outcome.export_url;
      link.setAttribute('download', 'my-data.json');
      link.rel = 'noreferrer';
      link.textContent = section.getAttribute('data-download');
      result.appendChild(link);
    } else if (outcome.receipt) {
      var intro = document.createElement('p');
      intro.textContent = section.getAttribute('data-receipt');
      var pre = document.createElement('pre');
      pre.className = 'receipt';
      pre.textContent = JSON.stringify(outcome.receipt, null, 2);
      result.appendChild(intro);
      result.appendChild(pre);
    }
    result.hidden = !result.firstChild;
  }

  suggestSession();
}());
