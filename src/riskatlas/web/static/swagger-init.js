// Starts Swagger UI on /api/docs (web/docs.py). A file rather than an inline script: the
// page's Content-Security-Policy runs scripts from this server only.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    // No badge fetched from the public validator: nothing leaves this server.
    validatorUrl: null,
  });
});
