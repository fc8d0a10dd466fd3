//! Page templates: a new page may start from a template's text — one of the four the site
//! ships with, a page an administrator offers to every space, or a page the space's owners
//! offer in their space. A page made from one is an ordinary page: its history starts with the
//! template's text.
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    access::{self, SpaceAction},
    accounts::User,
    collab::Hub,
    db::Db,
    pages::{entity::page, Page, PageId, TemplateScope},
    spaces::grants::{self, SpaceGrant},
};

/// The templates every site has: (key, title, what it is for, text).
pub(crate) const BUILTIN: &[(&str, &str, &str, &str)] = &[
    (
        "note-de-cadrage",
        "Note de cadrage",
        "Pour lancer un projet : pourquoi, pour qui, avec quels moyens, qui fait quoi.",
        "## Contexte\n\nPourquoi ce travail ? Ce qui existe déjà, ce qui manque.\n\n## Objectifs\n\n- \n- \n\n## Pour qui\n\nQui est concerné ? Qui participe ?\n\n## Moyens\n\nTemps, budget, outils, partenaires.\n\n## Calendrier\n\n| Étape | Quand |\n| --- | --- |\n| Lancement |  |\n| Bilan |  |\n\n## Qui fait quoi\n\n- Référent·e : \n- Membres du groupe : \n\n## Comment saurons-nous que c'est réussi ?\n\n- \n",
    ),
    (
        "compte-rendu",
        "Compte rendu de réunion",
        "Date, présents, ordre du jour, décisions et actions à suivre.",
        "**Date :** \n**Lieu ou lien de la visio :** \n\n## Présents\n\n- \n\n## Excusés\n\n- \n\n## Ordre du jour\n\n1. \n2. \n\n## Ce qui s'est dit\n\n### Premier sujet\n\n## Décisions\n\n- \n\n## Actions\n\n- [ ] Qui : … — Quoi : … — Pour quand : …\n\n## Prochaine réunion\n\n",
    ),
    (
        "feuille-de-route",
        "Feuille de route",
        "Les objectifs, les étapes et les actions, avec qui les porte et pour quand.",
        "## Objectifs\n\n1. \n2. \n\n## Étapes\n\n| Étape | Période | Qui porte |\n| --- | --- | --- |\n|  |  |  |\n\n## Actions\n\n- [ ] Action — qui (écrire @nom pour la prévenir) — pour le …\n\n## Points de vigilance\n\n- \n\n## Suivi\n\nDernière mise à jour : \n",
    ),
    (
        "fiche-experience",
        "Fiche d'expérience",
        "Raconter une action menée pour que d'autres s'en inspirent.",
        "## En bref\n\nCe que nous avons fait, en deux ou trois phrases.\n\n## Le contexte\n\nOù, quand, avec qui.\n\n## Ce que nous avons fait\n\n1. \n\n## Ce qui a marché\n\n- \n\n## Ce qui a été difficile\n\n- \n\n## Conseils pour se lancer\n\n- \n\n## Contact\n\nQui peut en parler : \n",
    ),
];

/// The text of a built-in template.
pub fn builtin(key: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(k, ..)| *k == key).map(|(.., text)| *text)
}

/// A template offered on the new page form.
#[derive(Debug, Clone)]
pub struct Offered {
    /// `b:{key}` for a built-in one, `p:{page id}` for a page.
    pub id: String,
    pub title: String,
    pub description: String,
}

/// The templates offered to `user` creating a page in `grant`'s space: the built-in ones, the
/// pages offered to every space, and this space's — those they may read.
pub async fn offered(
    db: &Db,
    user: Option<&User>,
    grant: &SpaceGrant,
) -> anyhow::Result<Vec<Offered>> {
    let mut found: Vec<Offered> = BUILTIN
        .iter()
        .map(|(key, title, description, _)| Offered {
            id: format!("b:{key}"),
            title: (*title).to_owned(),
            description: (*description).to_owned(),
        })
        .collect();
    let rows = page::Entity::find()
        .filter(page::Column::Template.is_not_null())
        .filter(page::Column::TrashedAt.is_null())
        .all(db)
        .await?;
    let grants = grants::readable_spaces(db, user).await?;
    for row in rows {
        let Ok(p) = Page::try_from(row) else { continue };
        let offered_here = match p.template {
            Some(TemplateScope::Site) => true,
            Some(TemplateScope::Space) => p.space_id == grant.space.id,
            None => false,
        };
        let readable = grants
            .get(&p.space_id.0)
            .is_some_and(|g| access::page_allows(g, &p, SpaceAction::Read));
        if offered_here && readable {
            let space =
                grants.get(&p.space_id.0).map(|g| g.space.title.clone()).unwrap_or_default();
            found.push(Offered { id: format!("p:{}", p.id.0), title: p.title, description: space });
        }
    }
    Ok(found)
}

/// The text a new page starts from, for the template `id` offered to this person here.
pub async fn text_of(
    db: &Db,
    hub: &Hub,
    user: Option<&User>,
    grant: &SpaceGrant,
    id: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(key) = id.strip_prefix("b:") {
        return Ok(builtin(key).map(str::to_owned));
    }
    let Some(page) = id.strip_prefix("p:").and_then(|n| n.parse::<i64>().ok()) else {
        return Ok(None);
    };
    // Only a template this person is offered (and may read).
    let offered = offered(db, user, grant).await?;
    if !offered.iter().any(|o| o.id == id) {
        return Ok(None);
    }
    Ok(Some(hub.read(PageId(page).doc()).await?.markdown))
}

/// Offers `page` as a template (`Some(scope)`), or no more.
pub async fn set(db: &Db, page: PageId, scope: Option<TemplateScope>) -> anyhow::Result<()> {
    page::Entity::update_many()
        .col_expr(
            page::Column::Template,
            sea_orm::sea_query::Expr::value(scope.map(TemplateScope::as_str)),
        )
        .filter(page::Column::Id.eq(page.0))
        .exec(db)
        .await?;
    Ok(())
}
