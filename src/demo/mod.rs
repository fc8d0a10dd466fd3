//! `ruche demo`: fills an empty site with the spaces, people and organisations of a real
//! cooperation programme, so a newcomer sees a living site at once.
use anyhow::{bail, Context};
use serde::Deserialize;

use crate::{content, dates, db::Db, directory, templates};
use ruche_accounts as accounts;
use ruche_accounts::{store::NewUser, User};
use ruche_forms as forms;
use ruche_spaces::PROFILES_SPACE;
use ruche_spaces::{store as spaces_store, store::NewSpace, Role, SpaceSlug, Visibility};

const FIXTURE: &str = include_str!("chantiers-cooperatifs.json");
/// Domain of the demo accounts' addresses (reserved for examples, so no mail ever leaves).
const DEMO_DOMAIN: &str = "demo.example.org";

#[derive(Deserialize)]
struct Fixture {
    platform: Platform,
    spaces: Vec<FixtureSpace>,
    organisations: Vec<String>,
    events: Vec<Event>,
    resources: Vec<Resource>,
    /// Each organisation's town, with its centre's coordinates (and a `_note`).
    #[serde(default)]
    organisation_towns: std::collections::HashMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Event {
    date: String,
    title: String,
    kind: String,
}

#[derive(Deserialize)]
struct Resource {
    title: String,
    #[serde(rename = "type")]
    kind: String,
    chantier: Option<u32>,
}

#[derive(Deserialize)]
struct Platform {
    name: String,
    tagline: String,
    regroupe: Vec<String>,
}

#[derive(Deserialize)]
struct Person {
    name: String,
    organisation: Option<String>,
}

#[derive(Deserialize)]
struct FixtureSpace {
    slug: String,
    title: String,
    visibility: String,
    referent: Option<Person>,
    coordinator: Option<Person>,
    defi: Option<String>,
    #[serde(default)]
    objectifs: Vec<String>,
    prochaines_etapes: Option<String>,
    realisation: Option<String>,
    role: Option<String>,
}

impl FixtureSpace {
    fn description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(defi) = &self.defi {
            parts.push(format!("Défi : {defi}"));
        }
        if let Some(role) = &self.role {
            parts.push(role.clone());
        }
        if !self.objectifs.is_empty() {
            let list: Vec<String> = self.objectifs.iter().map(|o| format!("- {o}")).collect();
            parts.push(format!("Objectifs :\n\n{}", list.join("\n")));
        }
        if let Some(done) = &self.realisation {
            parts.push(format!("Réalisation : {done}"));
        }
        if let Some(next) = &self.prochaines_etapes {
            parts.push(format!("Prochaines étapes : {next}"));
        }
        parts.join("\n\n")
    }

    /// The space's roadmap page, in Markdown. Its contact links to their directory sheet, and to
    /// their organisation's sheet when the organisation is one of `organisations`.
    fn roadmap(&self, organisations: &[String]) -> String {
        let mut md = String::new();
        if let Some(defi) = &self.defi {
            md.push_str(&format!("## Le défi\n\n{defi}\n\n"));
        }
        if let Some(role) = &self.role {
            md.push_str(&format!("## Notre rôle\n\n{role}\n\n"));
        }
        if !self.objectifs.is_empty() {
            md.push_str("## Objectifs\n\n");
            for o in &self.objectifs {
                md.push_str(&format!("- [ ] {o}\n"));
            }
            md.push('\n');
        }
        if let Some(done) = &self.realisation {
            md.push_str(&format!("## Réalisation\n\n{done}\n\n"));
        }
        if let Some(next) = &self.prochaines_etapes {
            md.push_str(&format!("## Prochaines étapes\n\n{next}\n\n"));
        }
        if let Some(lead) = self.lead() {
            let org = match lead.organisation.as_deref() {
                Some(o) if organisations.iter().any(|known| known == o) => {
                    format!(" ([[structures-cooperantes/{o}|{o}]])")
                }
                Some(o) => format!(" ({o})"),
                None => String::new(),
            };
            let name = &lead.name;
            md.push_str(&format!(
                "Contact : [[{}/{name}|{name}]]{org}.\n\nVoir aussi : [[Comptes rendus des rencontres]].\n",
                PROFILES_SPACE
            ));
        }
        md
    }

    fn lead(&self) -> Option<&Person> {
        self.referent.as_ref().or(self.coordinator.as_ref())
    }
}

/// An address for a demo person: "Céline Coubard" → celine.coubard@demo.example.org.
fn demo_email(name: &str) -> String {
    let slug = SpaceSlug::from_title(name)
        .map(|s| s.as_str().replace('-', "."))
        .unwrap_or_else(|| "membre".into());
    format!("{slug}@{DEMO_DOMAIN}")
}

/// What the demo created, to tell the person who ran it.
pub struct DemoSummary {
    pub admin_email: String,
    pub password: String,
    pub people: Vec<(String, String, String)>,
    pub spaces: usize,
}

pub async fn fill(db: &Db) -> anyhow::Result<DemoSummary> {
    let existing = spaces_store::all(db).await?;
    if existing.iter().any(|s| s.slug.as_str() != PROFILES_SPACE) {
        bail!("this site already has spaces: the demo only fills an empty site (use a new data directory)");
    }
    let fixture: Fixture = serde_json::from_str(FIXTURE).context("reading the demo fixture")?;
    // One password for every demo account: it is a demo, and people try several roles.
    let password = accounts::tokens::generate_secret().chars().take(16).collect::<String>();
    let admin_email = format!("admin@{DEMO_DOMAIN}");
    let admin =
        ensure_user(db, &admin_email, "Administratrice de la démo", &password, true).await?;

    let mut people = Vec::new();
    let mut chantiers = Vec::new();
    let mut referents: Vec<(User, String, String)> = Vec::new();
    for fs in &fixture.spaces {
        let visibility = Visibility::parse(&fs.visibility).unwrap_or(Visibility::Members);
        let slug =
            SpaceSlug::parse(&fs.slug).with_context(|| format!("demo slug {:?}", fs.slug))?;
        let space = spaces_store::create(
            db,
            NewSpace { slug, title: fs.title.clone(), description: fs.description(), visibility },
            Some(admin.id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo space {}: {e}", fs.slug))?;
        content::create_with_text(
            db,
            &space,
            "Feuille de route",
            &fs.roadmap(&fixture.organisations),
            Some(admin.id.0),
        )
        .await?;
        // The launch meeting's minutes, from the site's template (ready to be filled in).
        let minutes = templates::builtin("compte-rendu").unwrap_or_default().replacen(
            "**Date :** ",
            "**Date :** réunion de lancement du chantier",
            1,
        );
        content::create_with_text(
            db,
            &space,
            "Compte rendu de la réunion de lancement",
            &minutes,
            Some(admin.id.0),
        )
        .await?;
        chantiers.push((fs.slug.clone(), fs.title.clone()));
        if let Some(lead) = fs.lead() {
            let email = demo_email(&lead.name);
            let person = ensure_user(db, &email, &lead.name, &password, false).await?;
            spaces_store::set_member(db, space.id, person.id, Role::Owner)
                .await
                .map_err(|e| anyhow::anyhow!("adding {} to {}: {e}", lead.name, fs.slug))?;
            let org = lead.organisation.clone().unwrap_or_default();
            let role = match org.as_str() {
                "" => fs.title.clone(),
                org => format!("{} — {org}", fs.title),
            };
            people.push((lead.name.clone(), email, role));
            referents.push((person, org, fs.title.clone()));
        }
    }

    // A public home space: the programme, its agenda, its resources.
    let home = spaces_store::create(
        db,
        NewSpace {
            slug: SpaceSlug::parse("accueil").context("demo slug")?,
            title: fixture.platform.name.clone(),
            description: fixture.platform.tagline.clone(),
            visibility: Visibility::Public,
        },
        Some(admin.id),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the demo home space: {e}"))?;
    let mut welcome = format!("{}\n\nCe site regroupe :\n\n", fixture.platform.tagline);
    for r in &fixture.platform.regroupe {
        welcome.push_str(&format!("- {r}\n"));
    }
    welcome.push_str("\n## Les chantiers\n\n");
    for (slug, title) in chantiers.iter().filter(|(slug, _)| slug.starts_with("chantier")) {
        welcome.push_str(&format!("- [[{slug}/Feuille de route|{title}]]\n"));
    }
    welcome.push_str("\nVoir aussi [l'agenda](/agenda), [les ressources](/resources), [l'annuaire](/directory) et les [[structures-cooperantes/Liste des structures|structures coopérantes]].\n");
    content::create_with_text(db, &home, "Bienvenue", &welcome, Some(admin.id.0)).await?;
    // The referents are members of the home space: they see its members-only events.
    for (person, ..) in &referents {
        spaces_store::set_member(db, home.id, person.id, Role::Viewer)
            .await
            .map_err(|e| anyhow::anyhow!("adding {} to the home space: {e}", person.name))?;
    }

    // The programme's meetings: public ones for everyone, meetings between the chantiers for
    // members. The fixture gives days only: the times are indicative.
    let event_form = form(db, "event").await?;
    for e in &fixture.events {
        let public = e.kind == "public";
        let values = serde_json::json!({
            "when": { "start": format!("{}T09:30", e.date), "end": format!("{}T17:00", e.date), "tz": "Europe/Paris" },
            "audience": if public { forms::AUDIENCE_PUBLIC } else { forms::AUDIENCE_MEMBERS },
            "description": if public {
                "Rencontre ouverte à toutes et tous. Horaires indicatifs.".to_owned()
            } else {
                "Journée entre les chantiers coopératifs, pour leurs membres. Horaires indicatifs.".to_owned()
            },
        });
        let serde_json::Value::Object(values) = values else { continue };
        content::create_entry(db, &home, &e.title, "", &event_form, &values, Some(admin.id.0))
            .await?;
    }

    // A few example meetings ahead, so the agenda has a future (dated from the day the demo is
    // made, and said to be examples).
    let today = chrono::Utc::now().with_timezone(&dates::DEFAULT_TIME_ZONE).date_naive();
    for (days, title, start, end, online) in [
        (7, "Café coopération en ligne (exemple)", "10:00", "11:00", true),
        (21, "Atelier : animer une coopération territoriale (exemple)", "14:00", "17:00", false),
        (45, "Rencontre régionale des chantiers (exemple)", "09:30", "17:00", false),
    ] {
        let day = today + chrono::Duration::days(days);
        let mut values = serde_json::json!({
            "when": { "start": format!("{day}T{start}"), "end": format!("{day}T{end}"), "tz": "Europe/Paris" },
            "audience": forms::AUDIENCE_PUBLIC,
            "description": "Un exemple de rendez-vous, pour voir comment l'agenda se présente. Modifiez-le ou mettez-le à la corbeille.",
        });
        if online {
            values["online"] = "https://visio.example.org/cafe-cooperation".into();
        } else {
            values["place"] = "Lyon".into();
        }
        let serde_json::Value::Object(values) = values else { continue };
        content::create_entry(db, &home, title, "", &event_form, &values, Some(admin.id.0)).await?;
    }

    // The resources the chantiers produced, open to all.
    let resource_form = form(db, "resource").await?;
    for r in &fixture.resources {
        let mut themes = vec!["coopération territoriale".to_owned()];
        if let Some(c) = r.chantier {
            themes.push(format!("chantier {c}"));
        }
        let description = match r.chantier {
            Some(c) => format!("Une ressource produite par le chantier {c} du programme, ouverte à toutes et tous."),
            None => "Une ressource du programme, ouverte à toutes et tous.".to_owned(),
        };
        let values =
            serde_json::json!({ "type": r.kind, "themes": themes, "description": description });
        let serde_json::Value::Object(values) = values else { continue };
        content::create_entry(db, &home, &r.title, "", &resource_form, &values, Some(admin.id.0))
            .await?;
    }

    let orgs = spaces_store::create(
        db,
        NewSpace {
            slug: SpaceSlug::parse("structures-cooperantes").context("demo slug")?,
            title: "Les structures coopérantes".to_owned(),
            description: format!(
                "Les {} structures qui coopèrent dans les chantiers.",
                fixture.organisations.len()
            ),
            visibility: Visibility::Public,
        },
        Some(admin.id),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the demo organisations space: {e}"))?;
    let list: String = fixture.organisations.iter().map(|o| format!("- {o}\n")).collect();
    content::create_with_text(db, &orgs, "Liste des structures", &list, Some(admin.id.0)).await?;
    // Each organisation gets its sheet (the fixture names them; the rest is for them to fill).
    let org_form = form(db, "organisation").await?;
    let mut sheets = std::collections::HashMap::new();
    for name in &fixture.organisations {
        let mut values =
            serde_json::json!({ "name": name, "themes": ["coopération territoriale"] });
        // Where its head office is (the town centre: a place on the map, not an address).
        if let Some(town) = fixture.organisation_towns.get(name) {
            if let (Some(t), Some(lat), Some(lon)) =
                (town["town"].as_str(), town["lat"].as_f64(), town["lon"].as_f64())
            {
                values["address"] = t.into();
                values["point"] = serde_json::json!({ "lat": lat, "lon": lon });
            }
        }
        let serde_json::Value::Object(values) = values else { continue };
        let page = content::create_entry(db, &orgs, name, "", &org_form, &values, Some(admin.id.0))
            .await?;
        sheets.insert(name.to_lowercase(), format!("{}/{}", orgs.slug, page.slug));
    }
    // And each referent a profile in the directory, linked to their organisation.
    for (person, org, chantier) in &referents {
        let mut values = serde_json::Map::new();
        values.insert("function".into(), format!("Référent·e — {chantier}").into());
        if let Some(link) = sheets.get(&org.to_lowercase()) {
            values.insert("organisation".into(), link.clone().into());
        }
        directory::create_profile_page(db, person, values)
            .await
            .map_err(|e| anyhow::anyhow!("creating the profile of {}: {e}", person.name))?;
    }

    Ok(DemoSummary { admin_email, password, people, spaces: fixture.spaces.len() + 2 })
}

async fn form(db: &Db, key: &str) -> anyhow::Result<forms::Form> {
    forms::store::ensure_builtin(db).await?;
    forms::store::find(db, key).await?.with_context(|| format!("the {key} form"))
}

async fn ensure_user(
    db: &Db,
    email: &str,
    name: &str,
    password: &str,
    is_admin: bool,
) -> anyhow::Result<User> {
    if let Some(existing) = accounts::store::find_by_email(db, email).await? {
        return Ok(existing);
    }
    let new = NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        password: password.to_owned(),
        is_admin,
    };
    accounts::store::create(db, new)
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo account {email}: {e}"))
}
