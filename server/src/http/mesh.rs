//! The community mesh on the portal's admin page (`/portal`, login required): what the page
//! shows of it, and its form — create a community, join one, leave.

use app::i18n::Lang;
use app::portal::{MeshPeerRow, MeshView};
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use crate::mesh::{self, Membership};
use crate::portal::vouchers;

/// What the page shows of the mesh (and a name for each node id it knows, for the vouchers'
/// "made on" and "in use on").
pub fn view(state: &AppState) -> (MeshView, std::collections::HashMap<String, String>) {
    let db = state.auth.db();
    let status = match mesh::status(db, &state.vouchers) {
        Ok(status) => status,
        Err(err) => {
            tracing::error!(%err, "mesh status");
            return (MeshView::default(), std::collections::HashMap::default());
        }
    };
    let membership = Membership::load(db).ok().flatten();
    let now = vouchers::now();
    let names = status
        .peers
        .iter()
        .filter_map(|p| Some((p.node.clone()?, p.name.clone()?)))
        .collect();
    let view = MeshView {
        community: status.community,
        node: status.node,
        join_code: membership.as_ref().map(Membership::join_code),
        join_qr: membership
            .as_ref()
            .map(|m| crate::wizard::qr::svg_data_url(&m.join_code())),
        interface: state.mesh.interface.clone(),
        port: state.mesh.port,
        peers: status
            .peers
            .into_iter()
            .map(|p| MeshPeerRow {
                name: p.name.clone().unwrap_or_else(|| p.address.clone()),
                address: p.address,
                synced_ago: p.last_sync.map(|t| (now - t).max(0)),
                in_sync: p.in_sync,
                skew_s: p.skew_ms.map(|ms| ms / 1000),
                error: p.error_code,
            })
            .collect(),
    };
    (view, names)
}

/// The notice for `done=mesh-…`, the error for `error=mesh-…`, in the page's language.
pub fn message(key: &str, lang: Lang) -> Option<String> {
    matches!(
        key,
        "mesh-created"
            | "mesh-joined"
            | "mesh-left"
            | "mesh-error-name"
            | "mesh-error-code"
            | "mesh-error-already"
    )
    .then(|| lang.tr(key))
}

#[derive(Deserialize)]
pub struct MeshForm {
    action: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    code: String,
}

/// `POST /portal/mesh`: create a community, join one, leave.
pub async fn post(State(state): State<AppState>, Form(form): Form<MeshForm>) -> Response {
    let db = state.auth.db().clone();
    let back =
        |query: String| Redirect::to(&format!("/portal?{query}#mesh-heading")).into_response();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<Result<&str, String>> {
        let member = Membership::load(&db)?;
        Ok(match form.action.as_str() {
            "create" | "join" if member.is_some() => Err("error=mesh-error-already".into()),
            "create" => match Membership::create(form.community.trim()) {
                Ok(m) => {
                    m.save(&db)?;
                    tracing::info!(community = %m.community, "mesh: community created");
                    Ok("done=mesh-created")
                }
                Err(_) => Err(format!(
                    "error=mesh-error-name&m.community={}",
                    app::portal::encode(form.community.trim())
                )),
            },
            // A refused code is not sent back: it may be a secret with a typo.
            "join" => match Membership::from_code(&form.code) {
                Ok(m) => {
                    m.save(&db)?;
                    tracing::info!(community = %m.community, "mesh: joined");
                    Ok("done=mesh-joined")
                }
                Err(_) => Err("error=mesh-error-code".into()),
            },
            _ => {
                if mesh::Membership::leave(&db)? {
                    tracing::info!("mesh: left the community");
                }
                Ok("done=mesh-left")
            }
        })
    })
    .await;
    match result {
        Ok(Ok(Ok(done))) => back(done.to_owned()),
        Ok(Ok(Err(refused))) => back(refused),
        Ok(Err(err)) => {
            tracing::error!(%err, "mesh form");
            back("error=internal".into())
        }
        Err(_) => back("error=internal".into()),
    }
}
