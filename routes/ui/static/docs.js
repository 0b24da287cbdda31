// Starts Swagger UI on /openapi.json (a file, so the page needs no inline script).
globalThis.addEventListener("DOMContentLoaded", () => {
  globalThis.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
