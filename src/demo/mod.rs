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

    let mut home = format!("{}\n\nCe site regroupe :\n", fixture.platform.tagline);
    home.push_str(
        &fixture.platform.regroupe.iter().map(|r| format!("• {r}")).collect::<Vec<_>>().join("\n"),
    );
    let extra = [
        ("accueil", fixture.platform.name.clone(), home),
        (
            "structures-cooperantes",
            "Les structures coopérantes".to_owned(),
            format!(
                "Les {} structures qui coopèrent dans les chantiers :\n\n{}",
                fixture.organisations.len(),
                fixture.organisations.join("\n")
            ),
        ),
    ];
    for (slug, title, description) in extra {
        let slug = SpaceSlug::parse(slug).with_context(|| format!("demo slug {slug:?}"))?;
        spaces_store::create(
            db,
            NewSpace { slug, title, description, visibility: Visibility::Public },
            Some(admin.id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating a demo space: {e}"))?;
    }
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
