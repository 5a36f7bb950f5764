//! The OpenAPI 3.1 document: generated from the handlers' annotations by
//! `utoipa-axum`, completed here with metadata and the bearer scheme, and
//! served with a Swagger UI that is vendored into the binary (works offline).

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("Berth API")
        .version("v1")
        .description(Some(
            "The Berth hosting panel API. Authenticate with `Authorization: Bearer <token>` (a session token from \
             POST /api/v1/auth/login, or an API token). Errors are `{\"code\",\"message\",\"details\"}` with stable codes.",
        ))
        .build();
    let comps = doc.components.get_or_insert_with(Default::default);
    comps.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

pub fn docs_router<S: Clone + Send + Sync + 'static>(doc: OpenApi) -> Router<S> {
    Router::from(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc)).with_state(())
}
