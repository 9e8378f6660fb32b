// Starts Swagger UI on /docs. It lives in a file, not in the page, because
// the Content-Security-Policy allows no inline scripts.
//
// withCredentials: "Try it out" sends the browser's session cookie, so a
// person logged in on the pages is logged in here too. The first server in
// /openapi.json is the relative "/", so requests stay on this origin.
// validatorUrl: null keeps Swagger UI from sending the document to
// validator.swagger.io (and the CSP would block its badge anyway).
// deepLinking is off: it puts a link inside each operation's expand
// button, a control nested in a control that screen readers cannot reach
// (WCAG 4.1.2; see docs/pages.md).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  withCredentials: true,
  validatorUrl: null,
  deepLinking: false,
  displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});

// Swagger UI's server list is a <select> without a name (WCAG 4.1.2):
// name it whenever Swagger UI draws it.
new MutationObserver(function () {
  var select = document.getElementById("servers");
  if (select && !select.hasAttribute("aria-label")) {
    select.setAttribute("aria-label", "Server");
  }
}).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
