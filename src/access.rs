//! The one access module, as the site's handlers name it: the rules (`ruche_access`, which
//! decide from the rows they are given) and the grants loaded from storage for them
//! (`ruche_spaces::grants`), for this site's accounts, spaces and pages.
pub use ruche_access::*;
pub use ruche_spaces::grants::*;

use ruche_accounts::User;
use ruche_pages::Page;
use ruche_spaces::Space;

/// The page at `/…/{space}/{page}/…` for the action `A`, once the access module said yes —
/// the one way every page handler (pages, API, websocket, files, history, forms) reaches its
/// page (the web layer's extractor takes it from a request).
pub type PageFor<A> = ruche_access::PageFor<A, Space, User, Page>;
