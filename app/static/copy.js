// Copy buttons: <button type="button" data-copy="ID" hidden> copies the text of the element with
// that id. Without JavaScript the button stays hidden and the text stays selectable; the answer
// ("Copied", or how to copy by hand) goes to the element marked data-copy-status, read out by
// screen readers.
"use strict";

(function () {
  function say(button, message) {
    const status = button.parentElement.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = message;
    }
  }

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  async function copy(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    const text = source.textContent.trim();
    try {
      // The Clipboard API needs a secure context (HTTPS or localhost).
      await navigator.clipboard.writeText(text);
      say(button, "Copied.");
    } catch (error) {
      selectText(source);
      const copied = document.execCommand && document.execCommand("copy");
      say(button, copied ? "Copied." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    }
  }

  function setUp() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        copy(button);
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
