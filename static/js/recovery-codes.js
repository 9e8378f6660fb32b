// Adds "Copy" beside the recovery codes' download link on the page that
// shows them once (mfa.html). A file, not inline script: the pages'
// Content-Security-Policy allows none. Without it the page still offers
// the download link and printing; with it a person can paste the codes
// into a password manager. Framework-free on purpose.
(function () {
  "use strict";
  var tools = document.getElementById("code-tools");
  var list = document.getElementById("codes");
  if (!tools || !list || !navigator.clipboard) {
    return;
  }
  var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (c) {
    return c.textContent.trim();
  });
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.id = "copy-codes";
  button.textContent = "Copy the codes";
  var status = document.createElement("span");
  status.id = "copy-status";
  status.setAttribute("role", "status");
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(codes.join("\n") + "\n").then(function () {
      status.textContent = "Copied: paste them somewhere safe.";
    }, function () {
      status.textContent = "Could not copy: select the codes, or download them.";
    });
  });
  tools.insertBefore(button, tools.firstChild);
  tools.appendChild(status);
})();
