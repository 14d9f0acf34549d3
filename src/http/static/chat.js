(function () {
  'use strict';
  var log = document.getElementById('log');
  var form = document.getElementById('form');
  var input = document.getElementById('text');
  var session = null;

  function add(text, mine, options) {
    var div = document.createElement('div');
    div.className = 'msg' + (mine ? ' me' : '');
    div.textContent = text;
    log.appendChild(div);
    if (options && options.length) {
      var box = document.createElement('div');
      box.className = 'options';
      options.forEach(function (o) {
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = o.title;
        b.addEventListener('click', function () { send({ option: o.id }, o.title); });
        box.appendChild(b);
      });
      log.appendChild(box);
    }
    log.scrollTop = log.scrollHeight;
  }

  function start() {
    return fetch('/webchat/v1/sessions', { method: 'POST' })
      .then(function (r) { return r.json(); })
      .then(function (j) { session = j.session; });
  }

  function send(body, shown) {
    add(shown, true);
    var go = session ? Promise.resolve() : start();
    go.then(function () {
      return fetch('/webchat/v1/messages', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + session },
        body: JSON.stringify(body)
      });
    }).then(function (r) { return r.json(); })
      .then(function (j) { (j.replies || []).forEach(function (r) { add(r.text, false, r.options); }); });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var t = input.value.trim();
    if (!t) return;
    input.value = '';
    send({ text: t }, t);
  });
})();
