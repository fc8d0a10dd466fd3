//! Pages with their content: making a page (or an entry) whole in one transaction, refreshing its projections, deleting it for good with its files, collecting unused files; and page templates, offered to whoever may read them.
// The crates below this one, under the names the modules of this crate know them by.
use ruche_access as access;
use ruche_accounts as accounts;
use ruche_base::db;
use ruche_collab as collab;
use ruche_forms as forms;
use ruche_history as history;
use ruche_pages as pages;
use ruche_spaces as spaces;

pub mod content;
pub mod templates;
