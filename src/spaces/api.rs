//! The JSON API of spaces and their members (`/api/spaces/...`), for sessions and bearer tokens.
use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};

use super::{
    store::{self, NewSpace, SpaceError},
    Role, SpaceSlug, Visibility,
};
use crate::{
    access::{self, SpaceAction, SpaceGrant},
    content,
    error::{AppError, AppResult},
    i18n::{AskedLang, Lang},
    session::{CurrentUser, MaybeUser},
    state::AppState,
};
use ruche_accounts as accounts;
use ruche_accounts::{User, UserId};

/// A space as the API shows it: content fields only for those who may read it.
#[derive(Serialize)]
pub struct SpaceJson {
    slug: String,
    title: String,
    description: String,
    visibility: Visibility,
    /// The caller's role, if they are a member.
    role: Option<Role>,
    may_read: bool,
    may_edit: bool,
    may_manage: bool,
}

impl From<&SpaceGrant> for SpaceJson {
    fn from(grant: &SpaceGrant) -> Self {
        Self {
            slug: grant.space.slug.to_string(),
            title: grant.space.title.clone(),
            description: grant.space.description.clone(),
            visibility: grant.space.visibility,
            role: grant.role,
            may_read: grant.allows(SpaceAction::Read),
            may_edit: grant.allows(SpaceAction::Edit),
            may_manage: grant.allows(SpaceAction::Manage),
        }
    }
}

/// `GET /api/spaces`
pub async fn list(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> AppResult<Json<Vec<SpaceJson>>> {
    let spaces = access::visible_spaces(&state.db, user.as_ref()).await?;
    Ok(Json(spaces.iter().map(SpaceJson::from).collect()))
}

/// `GET /api/spaces/{space}`
pub async fn show(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(slug): Path<String>,
) -> AppResult<Json<SpaceJson>> {
    let grant = access::space(&state.db, user.as_ref(), &slug, SpaceAction::See).await?;
    Ok(Json(SpaceJson::from(&grant)))
}

#[derive(Deserialize)]
pub struct NewSpaceJson {
    slug: Option<String>,
    title: String,
    #[serde(default)]
    description: String,
    visibility: Visibility,
}

/// `POST /api/spaces` (administrators): the creator becomes its first owner.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AskedLang(lang): AskedLang,
    Json(body): Json<NewSpaceJson>,
) -> AppResult<(StatusCode, Json<SpaceJson>)> {
    if !access::may_create_space(Some(&user)) {
        return Err(AppError::Forbidden);
    }
    let slug = match &body.slug {
        Some(s) => SpaceSlug::parse(s),
        None => SpaceSlug::from_title(&body.title),
    }
    .ok_or_else(|| AppError::BadRequest(lang.t("space.slug_invalid")))?;
    let new = NewSpace {
        slug,
        title: body.title,
        description: body.description,
        visibility: body.visibility,
    };
    let space =
        store::create(&state.db, new, Some(user.id)).await.map_err(|e| api_error(lang, e))?;
    let grant =
        access::space(&state.db, Some(&user), space.slug.as_str(), SpaceAction::See).await?;
    Ok((StatusCode::CREATED, Json(SpaceJson::from(&grant))))
}

fn api_error(lang: Lang, err: SpaceError) -> AppError {
    match err {
        SpaceError::SlugTaken => AppError::Conflict(lang.t("space.slug_taken")),
        SpaceError::EmptyTitle => AppError::BadRequest(lang.t("space.title_required")),
        SpaceError::LastOwner => AppError::Conflict(lang.t("space.last_owner")),
        SpaceError::Internal(e) => AppError::Internal(e),
    }
}

#[derive(Serialize)]
pub struct MemberJson {
    id: UserId,
    name: String,
    role: Role,
}

/// `GET /api/spaces/{space}/members`
pub async fn members(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(slug): Path<String>,
) -> AppResult<Json<Vec<MemberJson>>> {
    let grant = access::space(&state.db, user.as_ref(), &slug, SpaceAction::ListMembers).await?;
    let members = store::members(&state.db, grant.space.id).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|m| MemberJson { id: m.user.id, name: m.user.name, role: m.role })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub(crate) struct RoleJson {
    role: Role,
}

/// The person a path segment names: an account number or an e-mail address.
async fn person(state: &AppState, key: &str) -> AppResult<User> {
    let found = match key.parse::<i64>() {
        Ok(id) => accounts::store::find(&state.db, UserId(id)).await?,
        Err(_) => accounts::store::find_by_email(&state.db, key).await?,
    };
    found.ok_or(AppError::NotFound)
}

/// `PUT /api/spaces/{space}/members/{user}` with `{"role": "editor"}`: adds or changes a member.
pub(crate) async fn put_member(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    AskedLang(lang): AskedLang,
    Path((slug, key)): Path<(String, String)>,
    Json(body): Json<RoleJson>,
) -> AppResult<Json<MemberJson>> {
    let grant = access::space(&state.db, user.as_ref(), &slug, SpaceAction::Manage).await?;
    let target = person(&state, &key).await?;
    store::set_member(&state.db, grant.space.id, target.id, body.role)
        .await
        .map_err(|e| api_error(lang, e))?;
    content::recheck_space_access(&state.db, &state.hub, grant.space.id).await?;
    Ok(Json(MemberJson { id: target.id, name: target.name, role: body.role }))
}

/// `DELETE /api/spaces/{space}/members/{user}`
pub async fn remove_member(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    AskedLang(lang): AskedLang,
    Path((slug, key)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let grant = access::space(&state.db, user.as_ref(), &slug, SpaceAction::Manage).await?;
    let target = person(&state, &key).await?;
    if !store::remove_member(&state.db, grant.space.id, target.id)
        .await
        .map_err(|e| api_error(lang, e))?
    {
        return Err(AppError::NotFound);
    }
    content::recheck_space_access(&state.db, &state.hub, grant.space.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
