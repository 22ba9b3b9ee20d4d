// Autosave of a bloc's writing (progressive enhancement: the form works without this script).
// A few seconds after the last keystroke, the form is posted with autosave=1; the server keeps each change as a
// revision and answers JSON. The status line (role=status) tells screen readers when a draft was saved.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) return;
  var status = document.getElementById("autosave-status");
  var timer = null;
  var saving = false;
  function save() {
    if (saving) return;
    saving = true;
    var data = new FormData(form);
    data.set("autosave", "1");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (status) status.textContent = response.ok ? status.dataset.saved : status.dataset.failed;
      })
      .catch(function () {
        if (status) status.textContent = status.dataset.failed;
      })
      .finally(function () {
        saving = false;
      });
  }
  form.addEventListener("input", function () {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(save, 4000);
  });
  form.addEventListener("submit", function () {
    if (timer) window.clearTimeout(timer);
  });
})();
