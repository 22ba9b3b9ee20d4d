/* Progress of a print job (templates/documents/job.html).
 *
 * Asks the job's status URL every few seconds and writes what changed into the page's live region (role=status),
 * so a screen reader announces "Printing…", then "Your document is ready." with the download offered in place.
 * It never reloads the page and never moves focus (the "Check again" button stays where it is: once the job is
 * over it opens the document's page). Texts come from the server, already translated, and are set
 * with textContent (no markup is ever inserted). Without this script the page's "Check again" button does the job.
 */
(function () {
  "use strict";

  var region = document.getElementById("job-status");
  if (!region || region.dataset.finished) {
    return;
  }
  var url = region.dataset.statusUrl;
  var delay = (parseFloat(region.dataset.pollSeconds) || 2) * 1000;
  var failures = 0;
  var lastMessage = region.textContent.trim();

  function paragraph(text, className) {
    var p = document.createElement("p");
    if (className) {
      p.className = className;
    }
    p.textContent = text;
    return p;
  }

  function link(href, text, className) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (className) {
      a.className = className;
    }
    return a;
  }

  function setTitle(text) {
    var parts = document.title.split(" · ");
    document.title = text + (parts.length > 1 ? " · " + parts[parts.length - 1] : "");
  }

  function readyContent(status) {
    var doc = status.document;
    var nodes = [paragraph(status.message, "job-state job-ready")];
    var download = document.createElement("p");
    download.appendChild(link(doc.download_url, doc.download_label, "button"));
    nodes.push(download);
    var facts = document.createElement("p");
    facts.appendChild(document.createTextNode(doc.code_label + ": "));
    facts.appendChild(link(doc.verify_url, doc.code));
    facts.appendChild(document.createTextNode(" · "));
    facts.appendChild(link(doc.page_url, doc.page_label));
    nodes.push(facts);
    return nodes;
  }

  function show(status) {
    if (status.message === lastMessage) {
      return; // the same news again: say nothing
    }
    lastMessage = status.message;
    var nodes = status.document
      ? readyContent(status)
      : [paragraph(status.message, status.state === "failed" ? "flash flash-error" : "job-state")];
    region.replaceChildren.apply(region, nodes);
    setTitle(status.title);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        failures = 0;
        show(status);
        if (!status.finished) {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        failures += 1; // the server may be restarting: keep asking, more slowly; the button still works
        window.setTimeout(poll, delay * Math.min(failures + 1, 10));
      });
  }

  window.setTimeout(poll, delay);
})();
