//! The JSON API of the history: `GET /api/pages/{space}/{page}/revisions[/{id}]`.
use crate::query::Query;
use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;

use super::{store, Revision, PER_PAGE};
use crate::{
    access::{self, PageFor},
    error::{AppError, AppResult},
    query,
    state::AppState,
};

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    page: query::PageNumber,
}

pub async fn list(
    State(state): State<AppState>,
    PageFor { page, .. }: PageFor<access::Read>,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let (revisions, total, number) = store::list(&state.db, page.id, q.page, PER_PAGE).await?;
    let items: Vec<serde_json::Value> = revisions
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "kind": r.kind, "note": r.note, "created_at": r.created_at,
                "contributors": r.contributors, "words_added": r.words_added, "words_removed": r.words_removed,
            })
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "total": total, "page": number.get(), "per_page": PER_PAGE, "revisions": items }),
    ))
}

pub async fn show(
    State(state): State<AppState>,
    PageFor { page, .. }: PageFor<access::Read>,
    Path((_, _, id)): Path<(String, String, i64)>,
) -> AppResult<Json<Revision>> {
    Ok(Json(store::get(&state.db, page.id, id).await?.ok_or(AppError::NotFound)?))
}
