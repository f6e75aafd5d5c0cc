//! What the walk does not show: CORS preflights and the origin on answers, and a revoked
//! token refused on the very next request (its secret never shown).

use axum::http::Method;

use crate::common::credentials::FRONTEND_ORIGIN;
use crate::common::{bearer, Harness, Payload};

#[tokio::test]
async fn cors_preflight_answers_allowed_origins_only() {
    let h = Harness::new().await;
    for (path, origin, status) in [
        ("/api/frontend", FRONTEND_ORIGIN, 204),
        ("/ofrep/v1/evaluate/flags", FRONTEND_ORIGIN, 204),
        ("/api/frontend", "https://evil.example", 403),
    ] {
        let reply = h
            .send(
                Method::OPTIONS,
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization, content-type",
                    ),
                ],
                Payload::Empty,
            )
            .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{path} from {origin}: {}",
            reply.text()
        );
        if status == 204 {
            assert_eq!(reply.headers["access-control-allow-origin"], origin);
            assert!(reply.headers["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("authorization"));
        }
    }
    // The answer itself carries the origin; other routes never do.
    let reply = h
        .get_with("/api/frontend", &[("origin", FRONTEND_ORIGIN)])
        .await
        .expect(200);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        FRONTEND_ORIGIN
    );
    let reply = h
        .get_with("/api/v1/flags", &[("origin", FRONTEND_ORIGIN)])
        .await
        .expect(200);
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn revocation_takes_effect_on_the_next_request() {
    let h = Harness::new().await;
    let created = h.client_token("short-lived").await;
    let secret = bearer(created["secret"].as_str().unwrap());
    let features = [("authorization", secret.as_str())];
    let status = h.get_with("/api/client/features", &features).await.status;
    assert_eq!(status, 200);
    let id = created["id"].as_str().unwrap();
    h.delete(&format!("/api/v1/tokens/{id}")).await.expect(200);
    let status = h.get_with("/api/client/features", &features).await.status;
    assert_eq!(status, 401);
    // The secret is nowhere in what the API shows of the token.
    let list = h.get("/api/v1/tokens").await.expect(200).text();
    assert!(!list.contains(created["secret"].as_str().unwrap()));
    assert!(!list.contains("verifier"));
}
