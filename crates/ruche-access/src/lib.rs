//! The one place that answers "may this person do this to that". Routes, the API, the
//! websocket, search, feeds and exports all ask here; none decides on its own.
//!
//! It decides from the rows it is given and imports no capability: what it reads of a person, a
//! space and a page is said by the traits [`Person`], [`SpaceRow`] and [`PageRow`], which the
//! accounts, spaces and pages implement for their own types; loading a grant from storage is the
//! spaces' (`ruche_spaces::grants`).
mod rows;

use rows::Nobody;
pub use rows::{CommentPolicy, PageRow, Person, Role, SpaceRow, Visibility};

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
    user: Option<&impl Person>,
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

/// A space (`S`) together with the person asking (`U`) and their role in it: what every rule
/// below reads. The spaces name it `SpaceGrant` for their `Space` and the accounts' `User`.
#[derive(Debug, Clone)]
pub struct Grant<S, U> {
    pub space: S,
    pub role: Option<Role>,
    pub user: Option<U>,
}

impl<S: SpaceRow, U: Person> Grant<S, U> {
    pub fn allows(&self, action: SpaceAction) -> bool {
        space_allows(self.user.as_ref(), self.space.visibility(), self.role, action)
    }

    /// The person asking, while their account is active.
    fn active(&self) -> Option<&U> {
        self.user.as_ref().filter(|u| !u.disabled())
    }

    /// `Unauthorized` for someone signed out (signing in may allow it), else `Forbidden`.
    fn refusal(&self) -> Denied {
        if self.user.is_none() {
            Denied::Unauthorized
        } else {
            Denied::Forbidden
        }
    }
}

/// What a grant decided for a space it was loaded for: unseen spaces answer like missing ones;
/// one that may be seen but not used for `action` asks to sign in, or refuses.
pub fn for_space<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    action: SpaceAction,
) -> Result<(), Denied> {
    if !grant.allows(SpaceAction::See) {
        return Err(Denied::NotFound);
    }
    if !grant.allows(action) {
        return Err(grant.refusal());
    }
    Ok(())
}

/// What `grant`'s holder may do with one page of that space. Most pages follow their space; a
/// members-only entry (an event for members) is unseen by everyone else, and a member's profile
/// is edited by its owner too. Contact fields of profiles are for every signed-in person.
pub fn page_allows<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    page: &impl PageRow,
    action: SpaceAction,
) -> bool {
    let owner = page.owner_id();
    let active = grant.active();
    let own = owner.is_some() && active.map(|u| u.person_id()) == owner;
    if page.members_only() && !own && !grant.allows(SpaceAction::ReadMembersOnlyFields) {
        return false;
    }
    match action {
        SpaceAction::Edit => own || grant.allows(SpaceAction::Edit),
        SpaceAction::ReadMembersOnlyFields => {
            own || grant.allows(action)
                || (owner.is_some() && active.is_some() && grant.allows(SpaceAction::Read))
        }
        _ => grant.allows(action),
    }
}

/// The page at an address for `action`, after its space was loaded for reading: refused like a
/// missing page when it may not be seen, else asks to sign in, or refuses. A page in the trash
/// is read by those who manage its space (with its banner), changed by nobody (`InTrash`: it is
/// restored first), and unseen by everyone else — on every surface.
pub fn page<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    page: &impl PageRow,
    action: SpaceAction,
) -> Result<(), Denied> {
    if !page_allows(grant, page, SpaceAction::Read)
        || (page.trashed() && !grant.allows(SpaceAction::Manage))
    {
        return Err(Denied::NotFound);
    }
    if !page_allows(grant, page, action) {
        return Err(grant.refusal());
    }
    if page.trashed() && action == SpaceAction::Edit {
        return Err(Denied::InTrash);
    }
    Ok(())
}

/// Whether anyone at all, signed in or not, may read `page` of `space` (a public profile, in the
/// directory).
pub fn readable_by_anyone(space: &impl SpaceRow, page: &impl PageRow) -> bool {
    let anyone = Grant::<_, Nobody> { space, role: None, user: None };
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
pub fn may_name<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    on_directory: bool,
    person: Acquaintance,
) -> bool {
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
pub fn may_change<S: SpaceRow, U: Person>(grant: &Grant<S, U>, page: &impl PageRow) -> bool {
    !page.trashed() && page_allows(grant, page, SpaceAction::Edit)
}

/// Whether the holder may comment on `page` (which they may read): signed in, the page not in
/// the trash, and the space's setting lets them — its members, or every reader of it.
pub fn may_comment<S: SpaceRow, U: Person>(grant: &Grant<S, U>, page: &impl PageRow) -> bool {
    !page.trashed() && page_allows(grant, page, SpaceAction::Read) && may_speak_in(grant)
}

/// Whether the space's setting lets the holder take part in its discussions (comment, start a
/// topic in its *Échanges*): signed in, and its members or every reader, as set.
pub(crate) fn may_speak_in<S: SpaceRow, U: Person>(grant: &Grant<S, U>) -> bool {
    let Some(user) = grant.active() else { return false };
    if !grant.allows(SpaceAction::Read) {
        return false;
    }
    match grant.space.comments() {
        CommentPolicy::Nobody => false,
        CommentPolicy::Members => grant.role.is_some() || may_administer_site(Some(user)),
        CommentPolicy::Readers => true,
    }
}

/// Whether the holder may make a new entry of `form` in the space: those who may edit it, and —
/// for a discussion topic — those who may take part in its discussions.
pub fn may_create_entry<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    is_discussion_topic: bool,
) -> Result<(), Denied> {
    if grant.allows(SpaceAction::Edit) || (is_discussion_topic && may_speak_in(grant)) {
        return Ok(());
    }
    Err(grant.refusal())
}

/// `may_comment` as an answer: signed out, sign in; signed in, not allowed.
pub fn comment<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    page: &impl PageRow,
) -> Result<(), Denied> {
    if may_comment(grant, page) {
        return Ok(());
    }
    Err(grant.refusal())
}

/// Whether the holder may hide, show again or delete anyone's comment in the space: its owners
/// (and the site's administrators).
pub fn may_moderate<S: SpaceRow, U: Person>(grant: &Grant<S, U>) -> bool {
    grant.allows(SpaceAction::Manage)
}

/// Whether the holder may edit or delete a comment written by `author`: its author, while they
/// may still read the page.
pub fn may_change_comment<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    page: &impl PageRow,
    author: Option<i64>,
) -> bool {
    let me = grant.active().map(|u| u.person_id());
    me.is_some() && me == author && !page.trashed() && page_allows(grant, page, SpaceAction::Read)
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
pub fn live_peer<S: SpaceRow, U: Person>(
    grant: &Grant<S, U>,
    page: &impl PageRow,
    holds_members_only: bool,
) -> Result<LivePeer, Denied> {
    if holds_members_only && !page_allows(grant, page, SpaceAction::ReadMembersOnlyFields) {
        return Err(grant.refusal());
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
pub struct PageFor<A, S, U, P> {
    pub grant: Grant<S, U>,
    pub page: P,
    action: std::marker::PhantomData<A>,
}

impl<A: PageAction, S: SpaceRow, U: Person, P: PageRow> PageFor<A, S, U, P> {
    /// `page` of `grant`'s space, once `page(grant, page, A::ACTION)` said yes.
    pub fn allowed(grant: Grant<S, U>, page: P) -> Result<Self, Denied> {
        self::page(&grant, &page, A::ACTION)?;
        Ok(Self { grant, page, action: std::marker::PhantomData })
    }
}

/// The pages of `grant`'s space its holder may read, among `pages`.
pub fn readable_pages<S: SpaceRow, U: Person, P: PageRow>(
    grant: &Grant<S, U>,
    pages: Vec<P>,
) -> Vec<P> {
    pages.into_iter().filter(|p| page_allows(grant, p, SpaceAction::Read)).collect()
}

/// Site administration: accounts, invitations, sign-up mode.
pub fn may_administer_site(user: Option<&impl Person>) -> bool {
    user.is_some_and(|u| u.is_site_admin() && !u.disabled())
}

/// Whether the holder may ask a members-only space's owners to let them in: a signed-in person
/// who is not in it yet (administrators are in every space already).
pub fn may_ask_to_join<S: SpaceRow, U: Person>(grant: &Grant<S, U>) -> bool {
    let Some(user) = grant.active() else { return false };
    grant.space.visibility() == Visibility::Members
        && grant.role.is_none()
        && !may_administer_site(Some(user))
}

/// Creating spaces is for administrators.
pub fn may_create_space(user: Option<&impl Person>) -> bool {
    may_administer_site(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Someone {
        admin: bool,
        disabled: bool,
    }

    impl Person for Someone {
        fn person_id(&self) -> i64 {
            1
        }
        fn is_site_admin(&self) -> bool {
            self.admin
        }
        fn disabled(&self) -> bool {
            self.disabled
        }
    }

    fn person(admin: bool) -> Someone {
        Someone { admin, disabled: false }
    }

    struct Room(Visibility, CommentPolicy);

    impl SpaceRow for Room {
        fn space_id(&self) -> i64 {
            7
        }
        fn visibility(&self) -> Visibility {
            self.0
        }
        fn comments(&self) -> CommentPolicy {
            self.1
        }
    }

    #[derive(Default)]
    struct Sheet {
        owner: Option<i64>,
        members_only: bool,
        trashed: bool,
    }

    impl PageRow for Sheet {
        fn space_id(&self) -> i64 {
            7
        }
        fn owner_id(&self) -> Option<i64> {
            self.owner
        }
        fn members_only(&self) -> bool {
            self.members_only
        }
        fn trashed(&self) -> bool {
            self.trashed
        }
    }

    #[test]
    fn private_spaces_are_unseen_by_outsiders() {
        let outsider = person(false);
        assert!(!space_allows(None::<&Someone>, Visibility::Private, None, SpaceAction::See));
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
        let admin = Someone { admin: true, disabled: true };
        assert!(!space_allows(Some(&admin), Visibility::Private, None, SpaceAction::See));
    }

    #[test]
    fn pages_follow_their_space_but_for_owners_members_only_entries_and_the_trash() {
        let room = || Room(Visibility::Public, CommentPolicy::Members);
        let reader = Grant { space: room(), role: None, user: Some(person(false)) };
        let profile = Sheet { owner: Some(1), ..Default::default() };
        // Their own profile is edited by its owner, who has no role in the space.
        assert!(page(&reader, &Sheet::default(), SpaceAction::Edit).is_err());
        assert!(page(&reader, &profile, SpaceAction::Edit).is_ok());
        // A members-only entry is unseen by a reader, as if missing.
        let members_only = Sheet { members_only: true, ..Default::default() };
        assert!(matches!(page(&reader, &members_only, SpaceAction::Read), Err(Denied::NotFound)));
        // The trash: read by those who manage the space, changed by nobody.
        let trashed = Sheet { trashed: true, ..Default::default() };
        let owner = Grant { space: room(), role: Some(Role::Owner), user: Some(person(false)) };
        assert!(matches!(page(&reader, &trashed, SpaceAction::Read), Err(Denied::NotFound)));
        assert!(page(&owner, &trashed, SpaceAction::Read).is_ok());
        assert!(matches!(page(&owner, &trashed, SpaceAction::Edit), Err(Denied::InTrash)));
        assert!(readable_by_anyone(&room(), &Sheet::default()));
        assert!(!readable_by_anyone(&room(), &members_only));
    }

    #[test]
    fn discussions_follow_the_spaces_setting() {
        let grant = |comments, role| Grant {
            space: Room(Visibility::Public, comments),
            role,
            user: Some(person(false)),
        };
        let sheet = Sheet::default();
        assert!(!may_comment(&grant(CommentPolicy::Members, None), &sheet));
        assert!(may_comment(&grant(CommentPolicy::Members, Some(Role::Viewer)), &sheet));
        assert!(may_comment(&grant(CommentPolicy::Readers, None), &sheet));
        assert!(!may_comment(&grant(CommentPolicy::Nobody, Some(Role::Owner)), &sheet));
        // A topic may be started by those who may take part, not other entries.
        assert!(may_create_entry(&grant(CommentPolicy::Readers, None), true).is_ok());
        assert!(may_create_entry(&grant(CommentPolicy::Readers, None), false).is_err());
    }
}
