// Changes made in place on the episode page (htmx): after an item is swapped in, focus what the
// user needs next (the field a refusal is about, else the answer beside the item); when the
// server could not be reached or refused the request outright, say by the item that nothing was
// saved. Without JavaScript the forms post as ordinary forms.
(function () {
  "use strict";

  function focusAnswer(item) {
    var target = item.querySelector("[aria-invalid='true']") || item.querySelector("[data-item-message]");
    if (target) {
      target.focus({ preventScroll: false });
    }
  }

  function notSaved(form, text) {
    var item = form.closest(".item-row, [id^='work-']");
    if (!item) {
      return;
    }
    var old = item.querySelector("[data-item-message]");
    if (old) {
      old.remove();
    }
    var message = document.createElement("div");
    message.className = "alert alert-danger py-1 px-2 my-1 small";
    message.setAttribute("role", "alert");
    message.setAttribute("tabindex", "-1");
    message.setAttribute("data-item-message", "");
    message.textContent = text;
    (form.closest(".item-actions") || item).prepend(message);
    message.focus();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var item = event.detail.elt;
    if (item && item.matches && item.matches(".item-row, [id^='work-']")) {
      focusAnswer(item);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    notSaved(
      event.detail.elt,
      "Not saved (the server answered " + status + "). Reload the page to see what is saved, then try again."
    );
  });

  document.addEventListener("htmx:sendError", function (event) {
    notSaved(
      event.detail.elt,
      "Not saved: the server could not be reached. Check the connection, then try again."
    );
  });
})();
