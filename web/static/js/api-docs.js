// The API's documentation: Swagger UI over the document the API itself serves.
window.apiDocs = window.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: false,
  validatorUrl: null, // no request leaves the exchange (the default asks validator.swagger.io)
});
