// Starts the vendored Swagger UI on /docs (a file, not an inline script: the CSP is script-src 'self').
"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  requestInterceptor: (request) => {
    // The session's CSRF token (the page carries it), so "Try it out" can change things too.
    const token = document.querySelector('meta[name="csrf-token"]')?.content;
    if (token) request.headers["X-CSRF-Token"] = token;
    return request;
  },
});
