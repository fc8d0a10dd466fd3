//! `ruche demo`: fills an empty site with the spaces, people and organisations of a real
//! cooperation programme, so a newcomer sees a living site at once.
use anyhow::{bail, Context};
use serde::Deserialize;

use crate::{
    accounts::{self, store::NewUser, User},
    db::Db,
    spaces::{
        store::{self as spaces_store, NewSpace},
        Role, SpaceSlug, Visibility,
    },
};

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
            let list: Vec<String> = self.objectifs.iter().map(|o| format!("• {o}")).collect();
            parts.push(format!("Objectifs :\n{}", list.join("\n")));
        }
        if let Some(done) = &self.realisation {
            parts.push(format!("Réalisation : {done}"));
        }
        if let Some(next) = &self.prochaines_etapes {
            parts.push(format!("Prochaines étapes : {next}"));
        }
        parts.join("\n\n")
    }

    /// The space's roadmap page, in Markdown.
    fn roadmap(&self) -> String {
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
            let org = lead.organisation.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
            md.push_str(&format!(
                "Contact : **{}**{org}.\n\nVoir aussi : [[Comptes rendus des rencontres]].\n",
                lead.name
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
    if !spaces_store::all(db).await?.is_empty() {
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
        crate::pages::create_with_text(
            db,
            &space,
            "Feuille de route",
            &fs.roadmap(),
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
            people.push((lead.name.clone(), email, format!("{} — {}", fs.title, org)));
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
    welcome.push_str("\nVoir aussi l'[[Agenda]], les [[Ressources]] et les [[structures-cooperantes/Liste des structures|structures coopérantes]].\n");
    crate::pages::create_with_text(db, &home, "Bienvenue", &welcome, Some(admin.id.0)).await?;

    let mut agenda = String::from("| Date | Rencontre | Type |\n| --- | --- | --- |\n");
    for e in &fixture.events {
        agenda.push_str(&format!("| {} | {} | {} |\n", e.date, e.title, e.kind));
    }
    crate::pages::create_with_text(db, &home, "Agenda", &agenda, Some(admin.id.0)).await?;

    let mut resources =
        String::from("Les ressources produites par les chantiers, ouvertes à toutes et tous.\n\n");
    for r in &fixture.resources {
        let chantier = r.chantier.map(|c| format!(" — chantier {c}")).unwrap_or_default();
        resources.push_str(&format!("- **{}** ({}){chantier}\n", r.title, r.kind));
    }
    crate::pages::create_with_text(db, &home, "Ressources", &resources, Some(admin.id.0)).await?;

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
    crate::pages::create_with_text(db, &orgs, "Liste des structures", &list, Some(admin.id.0))
        .await?;

    Ok(DemoSummary { admin_email, password, people, spaces: fixture.spaces.len() + 2 })
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
