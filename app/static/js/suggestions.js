// Claim form: refresh the "What your story shows" panel while the volunteer writes (debounced).
// Without this script the panel's button posts the form and the page shows the same suggestions.
// Everything the server returns is inserted as text (textContent), never as markup.
(function () {
  "use strict";
  var panel = document.querySelector(".suggestions-panel");
  if (!panel || !window.fetch || !window.FormData) { return; }
  var form = panel.closest("form");
  var live = panel.querySelector(".suggestions-live");
  var parts = ["situation", "task", "actions", "result", "reflection", "transfer"];
  var timer = null;
  var sequence = 0;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function render(data) {
    live.textContent = "";
    if (data.message) { live.appendChild(element("p", "notice", data.message)); }
    var list = element("ol", "suggestion-list");
    (data.suggestions || []).forEach(function (s) {
      var item = element("li", "suggestion");
      var title = element("p", "suggestion-title");
      title.appendChild(element("strong", "", s.code + " — " + s.title));
      if (s.level) { title.appendChild(document.createTextNode(" ")); title.appendChild(element("span", "badge badge-light", live.dataset.level + " " + s.level)); }
      item.appendChild(title);
      if (s.matched && s.matched.length) {
        var why = element("p", "suggestion-why", live.dataset.why + " ");
        s.matched.forEach(function (m, i) {
          why.appendChild(element("q", "", m));
          if (i < s.matched.length - 1) { why.appendChild(document.createTextNode(", ")); }
        });
        item.appendChild(why);
      }
      if (s.current) {
        item.appendChild(element("p", "muted", live.dataset.thisClaim));
      } else if (s.url && s.url.charAt(0) === "/") {
        var p = element("p");
        var link = element("a", "button button-secondary", live.dataset.start + " " + s.code);
        link.href = s.url;
        p.appendChild(link);
        item.appendChild(p);
      }
      list.appendChild(item);
    });
    live.appendChild(list);
  }

  function refresh() {
    var body = new FormData();
    var token = form.querySelector("input[name=csrf_token]");
    if (token) { body.append("csrf_token", token.value); }
    parts.forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      body.append(name, field ? field.value : "");
    });
    body.append("node", panel.dataset.node || "");
    var mine = ++sequence;
    fetch(panel.dataset.suggestUrl, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && mine === sequence) { render(data); } })
      .catch(function () { /* keep the last suggestions; the button still works */ });
  }

  parts.forEach(function (name) {
    var field = form.querySelector("[name=" + name + "]");
    if (!field) { return; }
    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 700);
    });
  });
  if (parts.some(function (name) { var f = form.querySelector("[name=" + name + "]"); return f && f.value.trim(); })) { refresh(); }
}());
