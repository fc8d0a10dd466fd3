//! The one place that answers "may this person do this to that". Routes, the API, and later the
//! websocket, search, feeds and exports all ask here; none decides on its own.
// The crates below this one, under the names the modules of this crate know them by.
extern crate self as access;
use ruche_accounts as accounts;
use ruche_base::db;
use ruche_forms as forms;
use ruche_pages as pages;
use ruche_spaces as spaces;

use crate::{
    accounts::User,
    db::Db,
    pages::Page,
    spaces::{store, Role, Space, Visibility},
};

/// Why access was refused, or could not be decided: the web layer turns it into its answer.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// Not there, or not to be seen by this person: answered as if missing.
    #[error("not found")]
    NotFound,
    /// Signing in may allow it.
    #[error("sign in first")]
    Unauthorized,
    /// Signed in, and not allowed.
    #[error("not allowed")]
    Forbidden,
    /// The page is in the trash: read by those who manage the space, changed by nobody.
    #[error("in the trash")]
    InTrash,
    /// Whether it is allowed could not be read.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Denied {
    fn from(err: sea_orm::DbErr) -> Self {
        Denied::Failed(err.into())
    }
}

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
pub(crate) fn space_allows(
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
) -> Result<SpaceGrant, Denied> {
    let space = store::find(db, slug).await?.ok_or(Denied::NotFound)?;
    let role = match user {
        Some(u) => store::role_of(db, space.id, u.id).await?,
        None => None,
    };
    let grant = SpaceGrant { space, role, user: user.cloned() };
    if !grant.allows(SpaceAction::See) {
        return Err(Denied::NotFound);
    }
    if !grant.allows(action) {
        return Err(if user.is_none() { Denied::Unauthorized } else { Denied::Forbidden });
    }
    Ok(grant)
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
/// missing page when it may not be seen, else asks to sign in, or refuses. A page in the trash
/// is read by those who manage its space (with its banner), changed by nobody (`InTrash`: it is
/// restored first), and unseen by everyone else — on every surface.
pub fn page(grant: &SpaceGrant, page: &Page, action: SpaceAction) -> Result<(), Denied> {
    if !page_allows(grant, page, SpaceAction::Read)
        || (page.trashed && !grant.allows(SpaceAction::Manage))
    {
        return Err(Denied::NotFound);
    }
    if !page_allows(grant, page, action) {
        return Err(if grant.user.is_none() { Denied::Unauthorized } else { Denied::Forbidden });
    }
    if page.trashed && action == SpaceAction::Edit {
        return Err(Denied::InTrash);
    }
    Ok(())
}

/// Whether `user` may read `page`, asked afresh of storage (their role in its space now): for
/// what outlives the request that was let in (a live stream, a mail written later) and for
/// people other than the one asking. A disabled account reads only what anyone reads.
pub async fn reads(db: &Db, user: Option<&User>, page: &Page) -> Result<bool, Denied> {
    let user = user.filter(|u| !u.disabled);
    let Some(space) = store::get(db, page.space_id).await? else { return Ok(false) };
    let role = match user {
        Some(u) => store::role_of(db, space.id, u.id).await?,
        None => None,
    };
    let grant = SpaceGrant { space, role, user: user.cloned() };
    Ok(grant.allows(SpaceAction::See) && self::page(&grant, page, SpaceAction::Read).is_ok())
}

/// Whether anyone at all, signed in or not, may read `page` of `space` (a public profile, in the
/// directory).
pub fn readable_by_anyone(space: &Space, page: &Page) -> bool {
    let anyone = SpaceGrant { space: space.clone(), role: None, user: None };
    self::page(&anyone, page, SpaceAction::Read).is_ok()
}

/// What the people list of a page knows of a person it might name to the page's writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acquaintance {
    /// They and the writer are members of one space at least.
    pub shares_a_space: bool,
    /// Their profile in the directory is one anyone may read.
    pub public_profile: bool,
}

/// Whether the people list of a page (offered after `@` to `grant`'s holder, who writes it) may
/// name a person, among those who may read the page: only someone the writer may know of
/// already. On most pages, the people they share a space with; on the directory (`on_directory`),
/// where everyone writes their own profile without sharing anything, only people whose profile
/// is public. Site administrators know every account.
pub fn may_name(grant: &SpaceGrant, on_directory: bool, person: Acquaintance) -> bool {
    if may_administer_site(grant.user.as_ref()) {
        return true;
    }
    if on_directory {
        person.public_profile
    } else {
        person.shares_a_space
    }
}

/// Whether `grant`'s holder may change the page now (its text, fields, title): never while it
/// is in the trash.
pub fn may_change(grant: &SpaceGrant, page: &Page) -> bool {
    !page.trashed && page_allows(grant, page, SpaceAction::Edit)
}

/// Whether the holder may comment on `page` (which they may read): signed in, the page not in
/// the trash, and the space's setting lets them — its members, or every reader of it.
pub fn may_comment(grant: &SpaceGrant, page: &Page) -> bool {
    !page.trashed && page_allows(grant, page, SpaceAction::Read) && may_speak_in(grant)
}

/// Whether the space's setting lets the holder take part in its discussions (comment, start a
/// topic in its *Échanges*): signed in, and its members or every reader, as set.
pub(crate) fn may_speak_in(grant: &SpaceGrant) -> bool {
    use crate::spaces::CommentPolicy;
    let Some(user) = grant.user.as_ref().filter(|u| !u.disabled) else { return false };
    if !grant.allows(SpaceAction::Read) {
        return false;
    }
    match grant.space.comments {
        CommentPolicy::Nobody => false,
        CommentPolicy::Members => grant.role.is_some() || may_administer_site(Some(user)),
        CommentPolicy::Readers => true,
    }
}

/// Whether the holder may make a new entry of `form` in the space: those who may edit it, and —
/// for a discussion topic — those who may take part in its discussions.
pub fn may_create_entry(grant: &SpaceGrant, form: &str) -> Result<(), Denied> {
    if grant.allows(SpaceAction::Edit)
        || (form == forms::builtin::TOPIC_FORM && may_speak_in(grant))
    {
        return Ok(());
    }
    Err(if grant.user.is_none() { Denied::Unauthorized } else { Denied::Forbidden })
}

/// `may_comment` as an answer: signed out, sign in; signed in, not allowed.
pub fn comment(grant: &SpaceGrant, page: &Page) -> Result<(), Denied> {
    if may_comment(grant, page) {
        return Ok(());
    }
    Err(if grant.user.is_none() { Denied::Unauthorized } else { Denied::Forbidden })
}

/// Whether the holder may hide, show again or delete anyone's comment in the space: its owners
/// (and the site's administrators).
pub fn may_moderate(grant: &SpaceGrant) -> bool {
    grant.allows(SpaceAction::Manage)
}

/// Whether the holder may edit or delete a comment written by `author`: its author, while they
/// may still read the page.
pub fn may_change_comment(grant: &SpaceGrant, page: &Page, author: Option<i64>) -> bool {
    let me = grant.user.as_ref().filter(|u| !u.disabled).map(|u| u.id.0);
    me.is_some() && me == author && !page.trashed && page_allows(grant, page, SpaceAction::Read)
}

/// How someone takes part in a page's live document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LivePeer {
    /// Sends updates that are applied and stored.
    Writer,
    /// Receives everyone's updates; what they send is refused.
    Reader,
}

/// Who may open a page's live document, and how. The document carries every field, so when it
/// holds values only members may read (`holds_members_only`), only they may open it.
pub fn live_peer(
    grant: &SpaceGrant,
    page: &Page,
    holds_members_only: bool,
) -> Result<LivePeer, Denied> {
    if holds_members_only && !page_allows(grant, page, SpaceAction::ReadMembersOnlyFields) {
        return Err(if grant.user.is_none() { Denied::Unauthorized } else { Denied::Forbidden });
    }
    Ok(if may_change(grant, page) { LivePeer::Writer } else { LivePeer::Reader })
}

/// What a handler does with the page at its address, as a type: `PageFor<Read>`,
/// `PageFor<Edit>`, `PageFor<Manage>`.
pub trait PageAction: Send + Sync + 'static {
    const ACTION: SpaceAction;
}

/// Reading a page: its text, fields, history, files, live view.
pub struct Read;
/// Changing a page: its text, fields, title or address; restoring one of its revisions.
pub struct Edit;
/// Putting a page in the trash, taking it out, deleting it for good.
pub struct Manage;

impl PageAction for Read {
    const ACTION: SpaceAction = SpaceAction::Read;
}
impl PageAction for Edit {
    const ACTION: SpaceAction = SpaceAction::Edit;
}
impl PageAction for Manage {
    const ACTION: SpaceAction = SpaceAction::Manage;
}

/// The page at `/…/{space}/{page}/…` for the action `A`, once the access module said yes —
/// the one way every page handler (pages, API, websocket, files, history, forms) reaches its
/// page. A renamed page's old address leads to the new one (for a person's GET), or is not
/// found.
pub struct PageFor<A> {
    pub grant: SpaceGrant,
    pub page: Page,
    action: std::marker::PhantomData<A>,
}

impl<A: PageAction> PageFor<A> {
    /// `page` of `grant`'s space, once `page(grant, page, A::ACTION)` said yes.
    pub fn allowed(grant: SpaceGrant, page: Page) -> Result<Self, Denied> {
        self::page(&grant, &page, A::ACTION)?;
        Ok(Self { grant, page, action: std::marker::PhantomData })
    }
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
) -> Result<std::collections::HashMap<i64, SpaceGrant>, Denied> {
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
            notify_by_mail: "never".into(),
            handle: "a".into(),
            digest_hour: 8,
            show_markdown: false,
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
