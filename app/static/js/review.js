/* The review page of a submission (templates/validation/submission.html): deciding claim by claim in place.
 *
 * Progressive enhancement: every decision form is an ordinary POST that works without this script. With it, the
 * form is posted with fetch and the header X-Acquis-Fragment: 1; the server answers with the fragments a decision
 * changes (the message, the summary, the claim's block; templates/validation/_review_fragment.html), parsed as
 * inert HTML and swapped in by id. The message goes into the page's one status region (role=status), so screen
 * readers hear it; the focus moves to the next claim awaiting a decision (or to the errors to correct).
 * Any other answer (an expired session, a server error) falls back to the ordinary submit.
 *
 * Keyboard shortcuts, only while the focus is inside a claim's block and not in a text field (so they never take a
 * letter someone is typing, nor a screen reader's browse-mode keys, which it keeps for itself):
 * V validates the claim; C chooses "request changes" and moves to the comment, which that decision requires.
 */
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser) return;

  var main = document.getElementById("main") || document.body;
  var status = document.getElementById("flash-messages");
  if (!status) {
    // One status region from the start: a region added later with its text is not reliably announced.
    status = document.createElement("div");
    status.id = "flash-messages";
    status.className = "flash-messages";
    status.setAttribute("role", "status");
    status.tabIndex = -1;
    main.insertBefore(status, main.firstChild);
  }

  function showHints(root) {
    root.querySelectorAll(".shortcut-hint").forEach(function (hint) {
      hint.hidden = false;
    });
  }

  function nextPendingHeading(after) {
    var pending = Array.prototype.slice.call(document.querySelectorAll('.review-item[data-pending="true"]'));
    var later = pending.filter(function (block) {
      return after.compareDocumentPosition(block) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    var block = later[0] || pending[0];
    return block ? block.querySelector("h2") : document.getElementById("summary-heading");
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    Array.prototype.slice.call(doc.body.children).forEach(function (fresh) {
      if (!fresh.id) return;
      if (fresh.id === "flash-messages") {
        status.replaceChildren.apply(status, Array.prototype.slice.call(fresh.childNodes));
        return;
      }
      var current = document.getElementById(fresh.id);
      if (current) {
        current.replaceWith(document.importNode(fresh, true));
      }
    });
    showHints(document);
  }

  function submitInPlace(form) {
    var block = form.closest(".review-item");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-Acquis-Fragment": "1" },
    })
      .then(function (response) {
        if ([200, 409, 422].indexOf(response.status) === -1) throw new Error("fallback");
        return response.text().then(function (html) {
          return { status: response.status, html: html };
        });
      })
      .then(function (answer) {
        var id = block.id;
        swap(answer.html);
        var fresh = document.getElementById(id);
        var target;
        if (answer.status === 422) {
          target = fresh && fresh.querySelector(".error-summary");
        } else if (answer.status === 409) {
          target = fresh && fresh.querySelector("h2");
        } else {
          target = nextPendingHeading(fresh || main);
        }
        (target || status).focus();
      })
      .catch(function () {
        // Not an answer this script understands: let the browser post the form and show the page.
        HTMLFormElement.prototype.submit.call(form);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches(".review-item form.decision-form")) return;
    event.preventDefault();
    submitInPlace(form);
  });

  function typing(element) {
    if (!element) return false;
    if (element.isContentEditable || element.tagName === "TEXTAREA" || element.tagName === "SELECT") return true;
    if (element.tagName !== "INPUT") return false;
    return ["radio", "checkbox", "button", "submit"].indexOf(element.type) === -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    var key = (event.key || "").toLowerCase();
    if (key !== "v" && key !== "c") return;
    var focused = document.activeElement;
    if (typing(focused)) return;
    var block = focused && focused.closest ? focused.closest(".review-item") : null;
    var form = block ? block.querySelector("form.decision-form") : null;
    if (!form) return;
    var value = key === "v" ? "validated" : "changes_requested";
    var choice = form.querySelector('input[type="radio"][value="' + value + '"]');
    if (!choice) return;
    event.preventDefault();
    choice.checked = true;
    if (key === "v") {
      form.requestSubmit ? form.requestSubmit() : submitInPlace(form);
    } else {
      var comment = form.querySelector("textarea");
      (comment || choice).focus();
    }
  });

  showHints(document);
})();
