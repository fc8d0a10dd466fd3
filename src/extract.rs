//! What handlers take from a request beyond what axum gives: the page at its address, once
//! the access module said yes. It sits with the state, above the capabilities it reaches.
use std::collections::HashMap;

use axum::{
    extract::{FromRequestParts, Path},
    http::{request::Parts, Method},
};

use crate::{
    access::{self, PageAction, PageFor, SpaceAction},
    error::AppError,
    session::MaybeUser,
    state::AppState,
};
use ruche_pages::store;

impl<A: PageAction> FromRequestParts<AppState> for PageFor<A> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let (Some(space), Some(slug)) = (params.get("space"), params.get("page")) else {
            return Err(AppError::NotFound);
        };
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        // The space first, for reading at least: whether a page exists is for its readers only.
        // The page may then allow more (its owner edits it) or less (members-only entries).
        let space_action = match A::ACTION {
            SpaceAction::Edit | SpaceAction::ReadMembersOnlyFields => SpaceAction::Read,
            other => other,
        };
        let grant = access::space(&state.db, user.as_ref(), space, space_action).await?;
        match store::find(&state.db, grant.space.id, slug).await? {
            None => Err(AppError::NotFound),
            Some(store::Found::Moved(to)) => {
                // Only to a page the asker may reach: the old address of a page now in the
                // trash tells nothing of its new name.
                let target = store::find(&state.db, grant.space.id, to.as_str()).await?;
                let reachable = match target {
                    Some(store::Found::Page(target)) => {
                        access::page(&grant, &target, A::ACTION).is_ok()
                    }
                    _ => false,
                };
                let path = parts.uri.path();
                let for_a_person = parts.method == Method::GET
                    && !path.starts_with("/api/")
                    && !path.starts_with("/ws/");
                let old = format!("/s/{space}/{slug}");
                match path.strip_prefix(&old) {
                    Some(rest) if for_a_person && reachable => {
                        let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
                        Err(AppError::Moved(format!("/s/{}/{to}{rest}{query}", grant.space.slug)))
                    }
                    _ => Err(AppError::NotFound),
                }
            }
            Some(store::Found::Page(page)) => Ok(Self::allowed(grant, page)?),
        }
    }
}
