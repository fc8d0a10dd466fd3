//! A space's grant loaded from storage: the space, the person asking and their role in it, for
//! the access rules (`ruche_access`) to decide on. Every lookup of a space for a person goes
//! through here, so what is loaded and what is decided stay together.
use ruche_access::{self as access, Denied, PageRow, SpaceAction};

use crate::{accounts::User, db::Db, store, Space, SpaceId};

/// A space together with the person asking and their role in it.
pub type SpaceGrant = access::Grant<Space, User>;

/// Loads a space for `action`. A space the person may not even see answers exactly like a
/// space that does not exist; one they may see but not use asks them to sign in, or refuses.
pub async fn space(
    db: &Db,
    user: Option<&User>,
    slug: &str,
    action: SpaceAction,
) -> Result<SpaceGrant, Denied> {
    let space = store::find(db, slug).await?.ok_or(Denied::NotFound)?;
    let grant = grant(db, space, user).await?;
    access::for_space(&grant, action)?;
    Ok(grant)
}

/// `space`'s grant for `user`: their role in it read from storage.
async fn grant(db: &Db, space: Space, user: Option<&User>) -> Result<SpaceGrant, Denied> {
    let role = match user {
        Some(u) => store::role_of(db, space.id, u.id).await?,
        None => None,
    };
    Ok(SpaceGrant { space, role, user: user.cloned() })
}

/// The spaces a person may see, by title.
pub async fn visible_spaces(db: &Db, user: Option<&User>) -> Result<Vec<SpaceGrant>, Denied> {
    let roles = match user {
        Some(u) => store::roles_of(db, u.id).await?,
        None => Default::default(),
    };
    Ok(store::all(db)
        .await?
        .into_iter()
        .map(|space| SpaceGrant { role: roles.get(&space.id).copied(), space, user: user.cloned() })
        .filter(|grant| grant.allows(SpaceAction::See))
        .collect())
}

/// The spaces a person may read, by space id: what every list, feed, export and search of
/// the whole site starts from.
pub async fn readable_spaces(
    db: &Db,
    user: Option<&User>,
) -> Result<std::collections::HashMap<i64, SpaceGrant>, Denied> {
    Ok(visible_spaces(db, user)
        .await?
        .into_iter()
        .filter(|g| g.allows(SpaceAction::Read))
        .map(|g| (g.space.id.0, g))
        .collect())
}

/// Whether `user` may read `page`, asked afresh of storage (their role in its space now): for
/// what outlives the request that was let in (a live stream, a mail written later) and for
/// people other than the one asking. A disabled account reads only what anyone reads.
pub async fn reads(db: &Db, user: Option<&User>, page: &impl PageRow) -> Result<bool, Denied> {
    let user = user.filter(|u| !u.disabled);
    let Some(space) = store::get(db, SpaceId(page.space_id())).await? else {
        return Ok(false);
    };
    let grant = grant(db, space, user).await?;
    Ok(grant.allows(SpaceAction::See) && access::page(&grant, page, SpaceAction::Read).is_ok())
}
