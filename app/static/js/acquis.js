/* Every page (templates/base.html): tell screen-reader users what just happened.
 *
 * - After a failed submit, the error summary (role=alert, links to the fields) takes the focus, so the reader
 *   hears what to correct and is one Tab away from the first field instead of at the top of the page.
 * - Flash messages are in a live region (role=status), but a live region that is already filled when the page
 *   loads is not announced: they are taken out and put back once the page is read, which announces them.
 * - A page opened at #flash-messages (after a trainer's decision, for instance) puts the focus on the message.
 * Nothing here runs later than the page's load: focus never moves while someone is reading.
 */
(function () {
  "use strict";

  var summary = document.querySelector(".error-summary");
  var flash = document.getElementById("flash-messages");

  if (summary) {
    summary.focus();
  } else if (flash && window.location.hash === "#flash-messages") {
    flash.focus();
  }

  if (flash && !flash.contains(document.activeElement)) {
    var messages = Array.prototype.slice.call(flash.childNodes);
    flash.replaceChildren();
    window.setTimeout(function () {
      flash.replaceChildren.apply(flash, messages);
    }, 250);
  }
})();
