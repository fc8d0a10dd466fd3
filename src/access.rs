//! The one place that answers "may this person do this to that". Routes, the API, and later the
//! websocket, search, feeds and exports all ask here; none decides on its own.
use crate::{
    accounts::User,
    db::Db,
    error::AppError,
    pages::Page,
    spaces::{store, Role, Space, Visibility},
};

/// Things one can do with a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceAction {
    /// Learn that it exists: its name and description.
    See,
    /// Read its content.
    Read,
    /// Change its content.
    Edit,
    /// See who its members are.
    ListMembers,
    /// Read the fields of its entries that are for members only.
    ReadMembersOnlyFields,
    /// Manage its members and settings.
    Manage,
}

/// The rule itself, as a pure function of who asks, the space's visibility and their role in it.
pub fn space_allows(
    user: Option<&User>,
    visibility: Visibility,
    role: Option<Role>,
    action: SpaceAction,
) -> bool {
    if may_administer_site(user) {
        return true;
    }
    let signed_in = user.is_some();
    let role = if signed_in { role } else { None };
    match action {
        SpaceAction::See => match visibility {
            Visibility::Public | Visibility::Members => true,
            Visibility::Private => role.is_some(),
        },
        SpaceAction::Read => match visibility {
            Visibility::Public => true,
            Visibility::Members | Visibility::Private => role.is_some(),
        },
        SpaceAction::ReadMembersOnlyFields => role.is_some(),
        SpaceAction::ListMembers => {
            signed_in && space_allows(user, visibility, role, SpaceAction::Read)
        }
        SpaceAction::Edit => role >= Some(Role::Editor),
        SpaceAction::Manage => role == Some(Role::Owner),
    }
}

/// A space together with what the person asking may do with it.
#[derive(Debug, Clone)]
pub struct SpaceGrant {
    pub space: Space,
    pub role: Option<Role>,
    pub user: Option<User>,
}

impl SpaceGrant {
    pub fn allows(&self, action: SpaceAction) -> bool {
        space_allows(self.user.as_ref(), self.space.visibility, self.role, action)
    }
}

/// Loads a space for `action`. A space the person may not even see answers exactly like a
/// space that does not exist; one they may see but not use asks them to sign in, or refuses.
pub async fn space(
    db: &Db,
    user: Option<&User>,
    slug: &str,
    action: SpaceAction,
) -> Result<SpaceGrant, AppError> {
    let space = store::find(db, slug).await?.ok_or(AppError::NotFound)?;
    let role = match user {
        Some(u) => store::role_of(db, space.id, u.id).await?,
        None => None,
    };
    let grant = SpaceGrant { space, role, user: user.cloned() };
    if !grant.allows(SpaceAction::See) {
        return Err(AppError::NotFound);
    }
    if !grant.allows(action) {
        return Err(if user.is_none() { AppError::Unauthorized } else { AppError::Forbidden });
    }
    Ok(grant)
}

/// The spaces a person may see, by title.
pub async fn visible_spaces(db: &Db, user: Option<&User>) -> Result<Vec<SpaceGrant>, AppError> {
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

/// What `grant`'s holder may do with one page of that space. Most pages follow their space; a
/// members-only entry (an event for members) is unseen by everyone else, and a member's profile
/// is edited by its owner too. Contact fields of profiles are for every signed-in person.
pub fn page_allows(grant: &SpaceGrant, page: &Page, action: SpaceAction) -> bool {
    let active = grant.user.as_ref().filter(|u| !u.disabled);
    let own = page.owner.is_some() && active.map(|u| u.id) == page.owner;
    if page.members_only && !own && !grant.allows(SpaceAction::ReadMembersOnlyFields) {
        return false;
    }
    match action {
        SpaceAction::Edit => own || grant.allows(SpaceAction::Edit),
        SpaceAction::ReadMembersOnlyFields => {
            own || grant.allows(action)
                || (page.owner.is_some() && active.is_some() && grant.allows(SpaceAction::Read))
        }
        _ => grant.allows(action),
    }
}

/// The page at an address for `action`, after its space was loaded for reading: refused like a
/// missing page when it may not be seen, else asks to sign in, or refuses.
pub fn page(grant: &SpaceGrant, page: &Page, action: SpaceAction) -> Result<(), AppError> {
    if !page_allows(grant, page, SpaceAction::Read) {
        return Err(AppError::NotFound);
    }
    if !page_allows(grant, page, action) {
        return Err(if grant.user.is_none() {
            AppError::Unauthorized
        } else {
            AppError::Forbidden
        });
    }
    Ok(())
}

/// The pages of `grant`'s space its holder may read, among `pages`.
pub fn readable_pages(grant: &SpaceGrant, pages: Vec<Page>) -> Vec<Page> {
    pages.into_iter().filter(|p| page_allows(grant, p, SpaceAction::Read)).collect()
}

/// The spaces a person may read, by space id: what every list, feed, export and search of
/// the whole site starts from.
pub async fn readable_spaces(
    db: &Db,
    user: Option<&User>,
) -> Result<std::collections::HashMap<i64, SpaceGrant>, AppError> {
    Ok(visible_spaces(db, user)
        .await?
        .into_iter()
        .filter(|g| g.allows(SpaceAction::Read))
        .map(|g| (g.space.id.0, g))
        .collect())
}

/// Site administration: accounts, invitations, sign-up mode.
pub fn may_administer_site(user: Option<&User>) -> bool {
    user.is_some_and(|u| u.is_admin && !u.disabled)
}

/// Whether the holder may ask a members-only space's owners to let them in: a signed-in person
/// who is not in it yet (administrators are in every space already).
pub fn may_ask_to_join(grant: &SpaceGrant) -> bool {
    let Some(user) = grant.user.as_ref().filter(|u| !u.disabled) else { return false };
    grant.space.visibility == Visibility::Members
        && grant.role.is_none()
        && !may_administer_site(Some(user))
}

/// Creating spaces is for administrators.
pub fn may_create_space(user: Option<&User>) -> bool {
    may_administer_site(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::UserId;

    fn person(admin: bool) -> User {
        User {
            id: UserId(1),
            email: "a@b.fr".into(),
            name: "A".into(),
            is_admin: admin,
            disabled: false,
            credential: String::new(),
            time_zone: None,
        }
    }

    #[test]
    fn private_spaces_are_unseen_by_outsiders() {
        let outsider = person(false);
        assert!(!space_allows(None, Visibility::Private, None, SpaceAction::See));
        assert!(!space_allows(Some(&outsider), Visibility::Private, None, SpaceAction::See));
        assert!(space_allows(
            Some(&outsider),
            Visibility::Private,
            Some(Role::Viewer),
            SpaceAction::Read
        ));
        assert!(space_allows(Some(&person(true)), Visibility::Private, None, SpaceAction::Manage));
    }

    #[test]
    fn roles_grow_in_power() {
        let member = person(false);
        let can =
            |role, action| space_allows(Some(&member), Visibility::Members, Some(role), action);
        assert!(can(Role::Viewer, SpaceAction::Read) && !can(Role::Viewer, SpaceAction::Edit));
        assert!(can(Role::Editor, SpaceAction::Edit) && !can(Role::Editor, SpaceAction::Manage));
        assert!(can(Role::Owner, SpaceAction::Manage));
    }

    #[test]
    fn a_disabled_administrator_has_no_power() {
        let mut admin = person(true);
        admin.disabled = true;
        assert!(!space_allows(Some(&admin), Visibility::Private, None, SpaceAction::See));
    }
}
