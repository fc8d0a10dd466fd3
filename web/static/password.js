// A button under each password field to show what was typed, and to hide it again: for people
// who type slowly, or on a phone where a mistyped letter is hard to see. Its words come from the
// page (`<html data-show-password data-hide-password>`), in the reader's language. The field is
// a password field again before its form is sent, so browsers still offer to remember it.
(function () {
  "use strict";
  var root = document.documentElement;
  var showWords = root.getAttribute("data-show-password") || "Show the password";
  var hideWords = root.getAttribute("data-hide-password") || "Hide the password";
  document.querySelectorAll('input[type="password"]').forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "small secondary show-password";
    button.textContent = showWords;
    if (input.id) button.setAttribute("aria-controls", input.id);
    function show(shown) {
      input.type = shown ? "text" : "password";
      button.textContent = shown ? hideWords : showWords;
    }
    button.addEventListener("click", function () {
      show(input.type === "password");
      input.focus();
    });
    if (input.form) input.form.addEventListener("submit", function () { show(false); });
    input.insertAdjacentElement("afterend", button);
  });
})();
