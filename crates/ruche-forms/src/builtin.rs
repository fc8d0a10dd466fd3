//! The forms every site has: member, organisation, event, resource.
use super::{FieldDef, FieldKind};

/// The built-in form of a discussion topic (a title and an opening message; its page has
/// everything a page has, and its discussion under it).
pub const TOPIC_FORM: &str = "discussion";

fn field(key: &str, label: &str, kind: FieldKind) -> FieldDef {
    FieldDef {
        key: key.into(),
        label: label.into(),
        kind,
        required: false,
        members_only: false,
        help: String::new(),
        removed: false,
    }
}

fn required(mut f: FieldDef) -> FieldDef {
    f.required = true;
    f
}

fn members_only(mut f: FieldDef) -> FieldDef {
    f.members_only = true;
    f
}

/// (key, name, description, fields) of each built-in form.
pub fn all() -> Vec<(&'static str, &'static str, &'static str, Vec<FieldDef>)> {
    vec![
        (
            "member",
            "Membre",
            "La fiche d'une personne du réseau.",
            vec![
                required(field("name", "Nom", FieldKind::ShortText)),
                field(
                    "organisation",
                    "Structure",
                    FieldKind::PageLink { form: "organisation".into() },
                ),
                field("function", "Fonction", FieldKind::ShortText),
                field("bio", "Présentation courte", FieldKind::LongText),
                field("photo", "Photo", FieldKind::Image),
                members_only(field("email", "Adresse e-mail", FieldKind::Email)),
                members_only(field("phone", "Téléphone", FieldKind::Phone)),
            ],
        ),
        (
            "organisation",
            "Structure",
            "La fiche d'une organisation : association, collectivité, entreprise, réseau…",
            vec![
                required(field("name", "Nom", FieldKind::ShortText)),
                field("description", "Description", FieldKind::LongText),
                field("website", "Site web", FieldKind::Url),
                field("address", "Adresse", FieldKind::ShortText),
                field("logo", "Logo", FieldKind::Image),
                field("point", "Position sur la carte", FieldKind::Point),
                field("themes", "Thèmes", FieldKind::Tags),
                field(
                    "type",
                    "Type de structure",
                    FieldKind::SingleChoice {
                        choices: [
                            "association",
                            "collectivité",
                            "entreprise",
                            "fondation",
                            "réseau",
                            "autre",
                        ]
                        .map(String::from)
                        .to_vec(),
                    },
                ),
            ],
        ),
        (
            "event",
            "Événement",
            "Une rencontre, un atelier, un webinaire…",
            vec![
                required(field("when", "Date et heure", FieldKind::DateTimeRange)),
                field("place", "Lieu", FieldKind::ShortText),
                field("online", "Lien de la visio", FieldKind::Url),
                required(field("audience", "Visible par", FieldKind::Audience)),
                field("description", "Description", FieldKind::LongText),
            ],
        ),
        (
            "resource",
            "Ressource",
            "Un document, un webinaire, un outil à partager.",
            vec![
                required(field(
                    "type",
                    "Type",
                    FieldKind::SingleChoice {
                        choices: [
                            "webinaire",
                            "fiche",
                            "rapport",
                            "référentiel",
                            "cartographie",
                            "autre",
                        ]
                        .map(String::from)
                        .to_vec(),
                    },
                )),
                field("themes", "Thèmes", FieldKind::Tags),
                field("link", "Lien", FieldKind::Url),
                field("file", "Document", FieldKind::File),
                field("description", "Description", FieldKind::LongText),
            ],
        ),
        (
            TOPIC_FORM,
            "Sujet de discussion",
            "Un sujet ouvert à l'échange : une question, une idée, une demande d'aide…",
            vec![required(field("message", "Votre message", FieldKind::LongText))],
        ),
    ]
}

/// Whether a kind of entry belongs in a space, so that only those are offered there (someone
/// writing minutes is not offered a member's card): a kind the space keeps already; a member's
/// card in the directory's space only, and nothing else there; an organisation's card where
/// organisations are kept (anywhere while no space keeps any); the others (events, resources,
/// topics, the site's own forms) anywhere.
pub fn belongs_in(form: &str, space: &str, kept_here: bool, kept_anywhere: bool) -> bool {
    let directory = space == crate::spaces::PROFILES_SPACE;
    match form {
        _ if kept_here => true,
        "member" => directory,
        _ if directory => false,
        "organisation" => !kept_anywhere,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::belongs_in;

    #[test]
    fn minutes_are_not_offered_member_or_organisation_cards() {
        assert!(!belongs_in("member", "chantier-1", false, true));
        assert!(!belongs_in("organisation", "chantier-1", false, true));
        assert!(belongs_in("event", "chantier-1", false, true));
        assert!(belongs_in("discussion", "chantier-1", false, false));
    }

    #[test]
    fn cards_belong_where_they_are_kept() {
        assert!(belongs_in("member", "annuaire", false, false));
        assert!(!belongs_in("event", "annuaire", false, false));
        assert!(belongs_in("organisation", "structures", true, true));
        assert!(belongs_in("organisation", "structures", false, false));
    }
}
