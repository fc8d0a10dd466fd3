//! The map: entries of every form that has a point (organisations first of all), as markers
//! with a popup linking to the entry (Leaflet, served by the binary, tiles from a configurable
//! server), and the same entries as a plain list beside it for everyone who does not use a map.
use crate::query::Query;
use axum::{
    extract::State,
    http::header,
    response::{Html, IntoResponse},
};
use maud::{html, PreEscaped};
use serde_json::json;

use crate::{
    access, collation,
    error::AppResult,
    forms::{
        query::{self, Entry, Filter},
        views::{self as form_views, FilterChoice, FilterSelect},
    },
    layout::{self, page as layout_page, Ctx},
    state::AppState,
};
use ruche_forms as forms;
use ruche_forms::FieldKind;

/// `GET /map`
pub async fn index(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(filter): Query<Filter>,
) -> AppResult<Html<String>> {
    let grants = access::readable_spaces(&state.db, ctx.user.as_ref()).await?;
    let chosen = filter.rest.get("form").cloned().unwrap_or_default();
    let mut kinds = Vec::new();
    let mut placed: Vec<(String, Entry)> = Vec::new();
    for form in forms::store::list(&state.db).await? {
        if form.first_of(|k| *k == FieldKind::Point).is_none() {
            continue;
        }
        let entries: Vec<Entry> = query::entries(&state.db, &grants, &form, None)
            .await?
            .into_iter()
            .filter(|e| e.point.is_some())
            .collect();
        let entries = filter.apply(&form, entries);
        kinds.push(FilterChoice {
            value: form.key.clone(),
            label: form.name.clone(),
            count: entries.len(),
        });
        if chosen.is_empty() || chosen == form.key {
            placed.extend(entries.into_iter().map(|e| (form.name.clone(), e)));
        }
    }
    collation::sort_by_name(&mut placed, |(_, e)| &e.page.title);
    let all: Vec<Entry> = placed.iter().map(|(_, e)| e.clone()).collect();
    let selects = vec![
        FilterSelect {
            name: "form".into(),
            label: ctx.t("map.kind"),
            current: chosen.clone(),
            choices: kinds,
        },
        FilterSelect::of_space(&ctx, &filter, &all),
    ];
    let data = json!({
        "tiles": state.settings.map_tiles,
        "attribution": state.settings.map_attribution,
        "entries": placed.iter().filter_map(|(kind, e)| {
            let (lat, lon) = e.point?;
            let address = e.text("address");
            Some(json!({
                "title": e.page.title,
                "url": e.url(),
                "lat": lat,
                "lon": lon,
                "detail": if address.is_empty() { kind.clone() } else { format!("{kind} · {address}") },
            }))
        }).collect::<Vec<_>>(),
    });
    let data = layout::json_data(&data);
    let title = ctx.t("map.title");
    Ok(layout_page(
        &ctx,
        &title,
        html! {
            link rel="stylesheet" href="/assets/leaflet.css";
            h1 { (title) }
            p.lead { (ctx.t("map.lead")) }
            (form_views::filter_bar(&ctx, "/map", &filter, &selects))
            div.map-layout {
                div #map.map role="region" aria-label=(ctx.t("map.map_label")) hidden {}
                section.map-list aria-labelledby="map-list-heading" {
                    h2 #map-list-heading { (ctx.t("map.list")) }
                    (form_views::count(&ctx, placed.len()))
                    ul {
                        @for (kind, e) in &placed {
                            li {
                                a href=(e.url()) { (e.page.title) }
                                " — " (kind)
                                @let address = e.text("address");
                                @if !address.is_empty() { br; span.meta { (address) } }
                            }
                        }
                    }
                }
            }
            script #map-data type="application/json" { (PreEscaped(data)) }
            script src="/assets/map.js" defer {}
        },
    ))
}

/// The map's script (Leaflet and ours), built from `web/` and compiled into the binary.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../web/dist/map.js"),
    )
}

/// Leaflet's stylesheet.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../web/dist/leaflet.css"),
    )
}
