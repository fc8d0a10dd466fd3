//! Search benchmark: indexes generated French-like pages into a fresh on-disk index, then runs
//! one-word and three-word queries as a reader of every space, and prints the figures:
//! indexing time, index size, query latency p50/p99 (hits, passages, count and facets).
//!
//! `cargo run --release --bin ruche-search-bench -- --pages 10000 --queries 1000`
use std::time::{Duration, Instant};

use clap::Parser;
use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
use ruche::search::{index::PageText, SearchIndex};

#[derive(Parser)]
struct Args {
    /// Pages to index.
    #[arg(long, default_value_t = 10_000)]
    pages: usize,
    /// Queries of each kind.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Spaces the pages are spread over.
    #[arg(long, default_value_t = 20)]
    spaces: i64,
}

/// Words of the cooperation programme's documents, common ones first (drawn with a Zipf-like
/// weight so that, as in real text, a few words are everywhere and most are rare).
const WORDS: &[&str] = &[
    "de",
    "la",
    "le",
    "les",
    "et",
    "des",
    "en",
    "un",
    "une",
    "pour",
    "du",
    "dans",
    "sur",
    "avec",
    "coopération",
    "territoriale",
    "acteurs",
    "acteur·rice·s",
    "territoire",
    "territoires",
    "chantier",
    "chantiers",
    "coopératifs",
    "coopératives",
    "réseau",
    "réseaux",
    "structures",
    "accompagnement",
    "dispositifs",
    "financement",
    "financements",
    "outils",
    "collectivités",
    "transition",
    "écologique",
    "juste",
    "économie",
    "sociale",
    "solidaire",
    "métiers",
    "compétences",
    "animateurs",
    "développeurs",
    "référentiel",
    "évaluation",
    "communs",
    "écosystèmes",
    "national",
    "local",
    "locales",
    "partenaires",
    "fondation",
    "association",
    "associations",
    "entreprises",
    "publiques",
    "politiques",
    "projets",
    "projet",
    "démarche",
    "rencontre",
    "rencontres",
    "journée",
    "atelier",
    "ateliers",
    "webinaire",
    "restitution",
    "rapport",
    "fiche",
    "cartographie",
    "ressources",
    "ressource",
    "feuille",
    "route",
    "objectifs",
    "étapes",
    "prochaines",
    "réalisation",
    "comité",
    "pilotage",
    "gouvernance",
    "posture",
    "transmission",
    "temps",
    "émergence",
    "structuration",
    "ouverture",
    "soin",
    "prendre",
    "générateur",
    "bourgogne",
    "franche-comté",
    "nouvelle-aquitaine",
    "jura",
    "méthodologie",
    "prototypage",
    "cadrage",
    "ancrage",
    "concrétisation",
    "besoins",
    "habitants",
    "citoyens",
    "emploi",
    "formation",
    "insertion",
    "alimentation",
    "mobilité",
    "énergie",
    "logement",
    "santé",
    "culture",
    "numérique",
    "agriculture",
    "biodiversité",
    "climat",
    "sobriété",
    "mutualisation",
    "alliances",
    "pôles",
    "territoriaux",
    "clusters",
    "incubateurs",
    "tiers-lieux",
    "fabriques",
    "laboratoires",
    "expérimentation",
    "innovation",
    "reconnaissance",
    "visibilité",
    "valoriser",
    "acculturer",
    "secteur",
    "public",
    "privé",
    "culture",
    "commune",
    "intercommunalité",
    "région",
    "département",
    "état",
    "europe",
];

fn word(rng: &mut StdRng) -> &'static str {
    // Zipf-like: index ~ n^u for u uniform, so low indexes are far more frequent.
    let n = WORDS.len() as f64;
    let i = (n.powf(rng.gen::<f64>()) - 1.0) as usize;
    WORDS[i.min(WORDS.len() - 1)]
}

fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words).map(|_| word(rng)).collect::<Vec<_>>().join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rng = StdRng::seed_from_u64(7);
    let dir = tempfile_dir()?;
    let search = SearchIndex::create_at(&dir)?;
    let forms = [None, Some("organisation"), Some("event"), Some("resource"), Some("member")];

    let texts: Vec<PageText> = (0..args.pages)
        .map(|i| {
            let paragraphs = rng.gen_range(2..8);
            let body = (0..paragraphs)
                .map(|_| {
                    let len = rng.gen_range(30..90);
                    sentence(&mut rng, len)
                })
                .collect::<Vec<_>>()
                .join(".\n\n");
            let title_len = rng.gen_range(3..9);
            PageText {
                page_id: i as i64 + 1,
                space_id: rng.gen_range(1..=args.spaces),
                members_only: rng.gen_bool(0.05),
                form: forms.choose(&mut rng).copied().flatten().map(str::to_owned),
                title: sentence(&mut rng, title_len),
                body,
                values: sentence(&mut rng, 6),
                comments: Vec::new(),
            }
        })
        .collect();
    let words: usize = texts.iter().map(|t| t.body.split(' ').count()).sum();

    let started = Instant::now();
    for batch in texts.chunks(1_000) {
        search.index_now(batch.to_vec())?;
    }
    let indexing = started.elapsed();
    let size = dir_size(&dir);

    let readable: Vec<i64> = (1..=args.spaces).collect();
    let member_of: Vec<i64> = (1..=args.spaces / 4).collect();
    let mut report = Vec::new();
    for (kind, n_words) in [("one word", 1), ("three words", 3)] {
        let mut times = Vec::with_capacity(args.queries);
        let mut hits = 0usize;
        for _ in 0..args.queries {
            let q = (0..n_words)
                .map(|_| WORDS[rng.gen_range(14..WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ");
            let t = Instant::now();
            let found = search.matches(&q, &readable, &member_of, None, None, 0, 10)?;
            times.push(t.elapsed());
            hits += found.total;
        }
        times.sort();
        report.push((
            kind,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            hits / args.queries.max(1),
        ));
    }

    println!("pages indexed        {}", args.pages);
    println!("words indexed        {words}");
    println!(
        "indexing time        {:.2} s ({:.0} pages/s)",
        indexing.as_secs_f64(),
        args.pages as f64 / indexing.as_secs_f64()
    );
    println!("index size           {:.1} MiB", size as f64 / (1024.0 * 1024.0));
    println!("query                p50        p99        mean matches");
    for (kind, p50, p99, matches) in report {
        println!(
            "{kind:<20} {:>7.2} ms {:>7.2} ms {matches:>8}",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ruche-search-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
