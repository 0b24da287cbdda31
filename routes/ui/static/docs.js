// Starts Swagger UI on /openapi.json (a file, so the page needs no inline script).
globalThis.addEventListener("DOMContentLoaded", () => {
  globalThis.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: false,
    onComplete: () => {
      // Swagger UI renders the servers list without a label.
      document.getElementById("servers")?.setAttribute("aria-label", "Server");
    },
  });
});
