// Starts the vendored Swagger UI on /docs (a file, not an inline script: the CSP is script-src 'self').
"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  requestInterceptor: (request) => {
    const match = document.cookie.match(/(?:^|; )csrf_token=([^;]+)/);
    if (match) request.headers["X-CSRF-Token"] = decodeURIComponent(match[1]);
    return request;
  },
});
