// Starts Swagger UI on /docs. It lives in a file, not in the page, because
// the Content-Security-Policy allows no inline scripts.
//
// withCredentials: "Try it out" sends the browser's session cookie, so a
// person logged in on the pages is logged in here too. The first server in
// /openapi.json is the relative "/", so requests stay on this origin.
// validatorUrl: null keeps Swagger UI from sending the document to
// validator.swagger.io (and the CSP would block its badge anyway).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  withCredentials: true,
  validatorUrl: null,
  deepLinking: true,
  displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
