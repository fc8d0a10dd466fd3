//! Fails when the modules of a crate import each other in a circle.
//!
//! Usage: `ruche-circles [--top-level] SRC_DIR...`. Each directory is one crate's sources, checked
//! on its own (with `--top-level`, between its top-level modules: `a::x` naming `b::y` is `a`
//! naming `b` — the layers a crate's capabilities keep until they are crates of their own):
//! every `.rs` file is a module, and a module depends on another when it names it, in a `use` or
//! in a path anywhere in its code. Test code (`#[cfg(test)]`) may import anything and is skipped,
//! and so is a module naming its own descendants (a module owns its children, re-exports them).
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// A module path below the crate root: `["forms", "store"]`; the root is empty.
type Module = Vec<String>;

/// One place that makes an edge: the line, and the path as written there.
#[derive(Clone)]
struct Site {
    file: PathBuf,
    line: usize,
    path: String,
}

/// A set of modules that all reach each other, with one shortest cycle through them.
struct Circle {
    modules: Vec<String>,
    /// Each step of the cycle: from, to, and the import that makes it.
    steps: Vec<(String, String, Site)>,
}

/// What one crate holds: how many modules, how many edges between them, and its circles.
struct Report {
    modules: usize,
    imports: usize,
    circles: Vec<Circle>,
}

fn main() -> ExitCode {
    let mut dirs: Vec<String> = std::env::args().skip(1).collect();
    let top_level = dirs.first().is_some_and(|a| a == "--top-level");
    if top_level {
        dirs.remove(0);
    }
    if dirs.is_empty() {
        eprintln!("usage: ruche-circles [--top-level] SRC_DIR...");
        return ExitCode::from(2);
    }
    let (mut circles, mut errors) = (false, false);
    for dir in &dirs {
        match check(Path::new(dir), top_level) {
            Ok(report) => {
                print!("{}", render(dir, &report));
                circles |= !report.circles.is_empty();
            }
            Err(err) => {
                eprintln!("{dir}: {err}");
                errors = true;
            }
        }
    }
    ExitCode::from(if errors { 2 } else { u8::from(circles) })
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

fn render(dir: &str, report: &Report) -> String {
    let mut out = String::new();
    for circle in &report.circles {
        let cycle: Vec<&str> = circle.steps.iter().map(|s| s.0.as_str()).collect();
        out += &format!(
            "circle of {} modules in {dir}: {}\n  one shortest cycle: {} -> {}\n",
            circle.modules.len(),
            circle.modules.join(", "),
            cycle.join(" -> "),
            cycle[0]
        );
        for (from, to, site) in &circle.steps {
            out += &format!(
                "    {from} -> {to} at {}:{} ({})\n",
                site.file.display(),
                site.line,
                site.path
            );
        }
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let verdict = match report.circles.len() {
        0 => "no circle".to_string(),
        n => count(n, "circle"),
    };
    let (modules, imports) = (count(report.modules, "module"), count(report.imports, "import"));
    out + &format!("{dir}: {modules}, {imports}, {verdict}\n")
}

/// Reads a crate's sources and finds its circles (between its top-level modules: `top_level`).
fn check(src: &Path, top_level: bool) -> Result<Report, String> {
    let files = module_files(src).map_err(|e| format!("cannot read: {e}"))?;
    // The nodes: every module, or (top_level) the root and each top-level module, which stands
    // for its descendants too.
    let node_of = |m: &Module| -> Module {
        if top_level {
            m.iter().take(1).cloned().collect()
        } else {
            m.clone()
        }
    };
    let nodes: BTreeMap<Module, usize> = {
        let mut keys: Vec<Module> = files.keys().map(node_of).collect();
        keys.dedup();
        keys.into_iter().zip(0..).collect()
    };
    // For each node, the nodes it names, with the first place it does.
    let mut edges: Vec<BTreeMap<usize, Site>> = vec![BTreeMap::new(); nodes.len()];
    for (here, file) in &files {
        let from = nodes[&node_of(here)];
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let ast = syn::parse_file(&text).map_err(|e| {
            format!("{}:{}: cannot parse: {e}", file.display(), e.span().start().line)
        })?;
        let mut paths = Paths::default();
        paths.visit_file(&ast);
        for (segments, line) in paths.found {
            // A module naming itself or its own descendants is not an edge.
            let Some(to) = resolve(&files, here, &segments).filter(|m| !m.starts_with(here)) else {
                continue;
            };
            let to = nodes[&node_of(&to)];
            if to == from {
                continue;
            }
            let site = Site { file: file.clone(), line, path: segments.join("::") };
            let entry = edges[from].entry(to).or_insert_with(|| site.clone());
            if (&site.file, site.line) < (&entry.file, entry.line) {
                *entry = site;
            }
        }
    }
    let names: Vec<String> = nodes.keys().map(|m| name(m)).collect();
    let adjacent: Vec<Vec<usize>> = edges.iter().map(|e| e.keys().copied().collect()).collect();
    let mut circles = Vec::new();
    for component in components(&adjacent).into_iter().filter(|c| c.len() > 1) {
        let cycle = shortest_cycle(&adjacent, &component);
        let steps = (0..cycle.len())
            .map(|i| {
                let (a, b) = (cycle[i], cycle[(i + 1) % cycle.len()]);
                (names[a].clone(), names[b].clone(), edges[a][&b].clone())
            })
            .collect();
        let mut modules: Vec<String> = component.iter().map(|&m| names[m].clone()).collect();
        modules.sort();
        circles.push(Circle { modules, steps });
    }
    let imports = edges.iter().map(BTreeMap::len).sum();
    Ok(Report { modules: nodes.len(), imports, circles })
}

/// Every module file of a crate: `a/b.rs` and `a/b/mod.rs` are `a::b`, `lib.rs` the root.
/// `bin/` holds binaries of their own, and `main.rs` beside a `lib.rs` is a binary using the
/// library from outside; without a `lib.rs`, `main.rs` is the root.
fn module_files(src: &Path) -> std::io::Result<BTreeMap<Module, PathBuf>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
            if path.is_dir() {
                if rel != Path::new("bin") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let mut module: Module =
                rel.with_extension("").iter().map(|s| s.to_string_lossy().into_owned()).collect();
            let top = module.len() == 1;
            match module.last().map(String::as_str) {
                Some("mod") => drop(module.pop()),
                Some("lib") if top => drop(module.pop()),
                Some("main") if top => {
                    if src.join("lib.rs").exists() {
                        continue;
                    }
                    module.pop();
                }
                _ => {}
            }
            files.insert(module, path);
        }
    }
    Ok(files)
}

/// The module a path names: the longest prefix of it that is a module file. `None` for
/// paths leading out of the crate (`std::…`, other crates).
fn resolve(files: &BTreeMap<Module, PathBuf>, here: &[String], path: &[String]) -> Option<Module> {
    let (mut module, rest) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" | "super" => {
            let mut module = here.to_vec();
            let skip = path.iter().take_while(|s| *s == "self" || *s == "super").count();
            for _ in path[..skip].iter().filter(|s| *s == "super") {
                module.pop();
            }
            (module, &path[skip..])
        }
        // A child of this module named without `self::`.
        child if files.contains_key(&[here, &[child.to_string()]].concat()) => {
            (here.to_vec(), path)
        }
        _ => return None,
    };
    for segment in rest {
        module.push(segment.clone());
        if !files.contains_key(&module) {
            module.pop();
            break;
        }
    }
    files.contains_key(&module).then_some(module)
}

/// The paths one file names, outside test code, each with its line.
#[derive(Default)]
struct Paths {
    found: Vec<(Vec<String>, usize)>,
}

/// `#[cfg(test)]` or `#[cfg(all(test, …))]`: code that only tests compile.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    let is_test = |t: &TokenTree| matches!(t, TokenTree::Ident(id) if id == "test");
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::List(list) if list.path.is_ident("cfg") => {
            match list.tokens.clone().into_iter().collect::<Vec<_>>().as_slice() {
                [test] => is_test(test),
                [TokenTree::Ident(all), TokenTree::Group(g)] if all == "all" => {
                    g.stream().into_iter().any(|t| is_test(&t))
                }
                _ => false,
            }
        }
        _ => false,
    })
}

fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, usize)>) {
    let mut leaf = |ident: &syn::Ident, prefix: &[String]| {
        let mut path = prefix.to_vec();
        // `a::{self, X}` names `a` itself.
        if ident != "self" {
            path.push(ident.to_string());
        }
        out.push((path, ident.span().start().line));
    };
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => leaf(&n.ident, prefix),
        syn::UseTree::Rename(r) => leaf(&r.ident, prefix),
        syn::UseTree::Glob(g) => out.push((prefix.clone(), g.star_token.span.start().line)),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_paths(t, prefix, out)),
    }
}

/// Paths written inside a macro (`html! { (crate::a::f()) }`, a macro_rules body): tokens, not
/// parsed code, so look for `crate`, `self` or `super` followed by `::name`s.
fn token_paths(tokens: TokenStream, out: &mut Vec<(Vec<String>, usize)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => token_paths(g.stream(), out),
            TokenTree::Ident(id) if id == "crate" || id == "self" || id == "super" => {
                let mut path = vec![id.to_string()];
                while let [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(next), ..] =
                    &tokens[i + 1..]
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    path.push(next.to_string());
                    i += 3;
                }
                if path.len() > 1 {
                    out.push((path, id.span().start().line));
                }
            }
            _ => {}
        }
        i += 1;
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        use syn::Item::*;
        let attrs = match item {
            Const(i) => &i.attrs,
            Enum(i) => &i.attrs,
            ExternCrate(i) => &i.attrs,
            Fn(i) => &i.attrs,
            ForeignMod(i) => &i.attrs,
            Impl(i) => &i.attrs,
            Macro(i) => &i.attrs,
            Mod(i) => &i.attrs,
            Static(i) => &i.attrs,
            Struct(i) => &i.attrs,
            Trait(i) => &i.attrs,
            TraitAlias(i) => &i.attrs,
            Type(i) => &i.attrs,
            Union(i) => &i.attrs,
            Use(i) => &i.attrs,
            _ => return visit::visit_item(self, item),
        };
        if !is_test(attrs) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !is_test(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        use_paths(&item.tree, &mut Vec::new(), &mut self.found);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let first = path.segments.first().map(|s| s.ident.to_string());
        if path.segments.len() > 1 && matches!(first.as_deref(), Some("crate" | "self" | "super")) {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.found.push((segments, path.segments[0].ident.span().start().line));
        }
        // Generic arguments may name modules too: `Vec<crate::a::X>`.
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit::visit_macro(self, mac);
        // Also in a macro_rules body: its paths are used where it is called, nearly always in
        // the file that defines it (backup lists every table's entity module in one).
        token_paths(mac.tokens.clone(), &mut self.found);
    }
}

/// Strongly connected components (Tarjan), each a set of modules that all reach each other.
fn components(adjacent: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct Tarjan<'a> {
        adjacent: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        out: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize, next: &mut usize) {
            self.index[v] = Some(*next);
            self.low[v] = *next;
            *next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for &w in &self.adjacent[v] {
                match self.index[w] {
                    None => {
                        self.visit(w, next);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                self.out.push(component);
            }
        }
    }
    let n = adjacent.len();
    let mut t = Tarjan {
        adjacent,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        out: Vec::new(),
    };
    let mut next = 0;
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v, &mut next);
        }
    }
    t.out.sort_by_key(|c| c.iter().min().copied());
    t.out
}

/// The shortest cycle inside a component (breadth first from each of its modules), as the
/// list of modules it goes through; among equally short ones, the first in name order.
fn shortest_cycle(adjacent: &[Vec<usize>], component: &[usize]) -> Vec<usize> {
    let mut best: Option<Vec<usize>> = None;
    let mut starts = component.to_vec();
    starts.sort();
    for &start in &starts {
        // Which module each was first reached from; the start is reached from nowhere.
        let mut previous: Vec<Option<usize>> = vec![None; adjacent.len()];
        let mut queue = VecDeque::from([start]);
        'search: while let Some(v) = queue.pop_front() {
            for &w in adjacent[v].iter().filter(|w| component.contains(w)) {
                if w == start {
                    let mut cycle = vec![v];
                    while let Some(p) = cycle.last().and_then(|&c| previous[c]) {
                        cycle.push(p);
                    }
                    cycle.reverse();
                    if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
                        best = Some(cycle);
                    }
                    break 'search;
                }
                if previous[w].is_none() {
                    previous[w] = Some(v);
                    queue.push_back(w);
                }
            }
        }
    }
    best.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a fake crate (file name, source) and checks it.
    fn check_crate(files: &[(&str, &str)]) -> Report {
        check_crate_at(files, false)
    }

    /// Writes a fake crate and checks it, between its top-level modules when `top_level`.
    fn check_crate_at(files: &[(&str, &str)], top_level: bool) -> Report {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        check(dir.path(), top_level).unwrap()
    }

    fn circle_modules(report: &Report) -> Vec<Vec<String>> {
        report.circles.iter().map(|c| c.modules.clone()).collect()
    }

    #[test]
    fn no_circle() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b; pub use a::A;"),
            ("a.rs", "use crate::b::B; pub struct A(B);"),
            ("b.rs", "pub struct B;"),
            ("main.rs", "use crate::a::A; fn main() {}"),
            ("bin/tool.rs", "use crate::a::A; fn main() {}"),
        ]);
        assert!(report.circles.is_empty());
        assert_eq!((report.modules, report.imports), (3, 1));
    }

    #[test]
    fn use_crate_circle() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::B;\npub struct A;"),
            ("b.rs", "pub struct B;\n\nuse crate::a::A;"),
        ]);
        assert_eq!(circle_modules(&report), [["a", "b"]]);
        let text = render("src", &report);
        assert!(text.contains("one shortest cycle: a -> b -> a"), "{text}");
        assert!(text.contains("b -> a at ") && text.contains("b.rs:3 (crate::a::A)"), "{text}");
        assert!(text.ends_with("src: 3 modules, 2 imports, 1 circle\n"), "{text}");
    }

    #[test]
    fn inline_path_in_function_body() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::B;"),
            ("b.rs", "pub fn f() -> usize { let v: Vec<u8> = Vec::new(); crate::a::count(&v) }"),
        ]);
        assert_eq!(circle_modules(&report), [["a", "b"]]);
    }

    #[test]
    fn path_inside_macro_call() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::B;"),
            ("b.rs", "fn f() { println!(\"{}\", crate::a::NAME); }"),
        ]);
        assert_eq!(circle_modules(&report), [["a", "b"]]);
    }

    #[test]
    fn paths_in_macro_rules_bodies() {
        // `use $module` is a template, not a path; `crate::a::f` in a body is one.
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::B;"),
            ("b.rs", "macro_rules! m { ($module:ident) => { use $module as x; crate::a::f() } }"),
        ]);
        assert_eq!(circle_modules(&report), [["a", "b"]]);
    }

    #[test]
    fn super_resolves_to_the_sibling_module() {
        let report = check_crate(&[
            ("lib.rs", "mod x;"),
            ("x/mod.rs", "mod a; mod b;"),
            ("x/a.rs", "use super::b::B;"),
            ("x/b.rs", "use super::super::x::a; fn f() { super::a::g() }"),
        ]);
        assert_eq!(circle_modules(&report), [["x::a", "x::b"]]);
    }

    #[test]
    fn test_code_may_import_anything() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::B;"),
            ("b.rs", "#[cfg(test)]\nmod tests { use crate::a::A; fn t() { crate::a::f() } }"),
        ]);
        assert!(report.circles.is_empty());
        assert_eq!(report.imports, 1);
    }

    #[test]
    fn a_module_owns_its_children() {
        // mod.rs re-exports its child, and the child uses its parent: no circle.
        let report = check_crate(&[
            ("lib.rs", "mod p;"),
            ("p/mod.rs", "mod child; pub use self::child::X; pub use child::Z; pub struct Y;"),
            ("p/child.rs", "use super::Y; pub struct X(Y); pub struct Z;"),
        ]);
        assert!(report.circles.is_empty());
        assert_eq!(report.imports, 1);
    }

    #[test]
    fn nested_use_trees() {
        let report = check_crate(&[
            ("lib.rs", "mod a; mod e; mod y; mod z;"),
            ("a/mod.rs", "pub mod b; pub mod c;"),
            ("a/b.rs", "use crate::z::Z;"),
            ("a/c.rs", "pub struct D;"),
            ("e.rs", "use crate::z;"),
            ("z.rs", "use crate::{a::{b, c::D}, e as f};"),
            ("y.rs", "use crate::a::{self, b::{self as bee}};"),
        ]);
        // z names a::b, a::c (D is an item in it) and e; a::b and e both name z; y names a
        // and a::b.
        assert_eq!(report.imports, 7);
        assert_eq!(circle_modules(&report), [["a::b", "e", "z"]]);
        let steps: Vec<_> = report.circles[0].steps.iter().map(|s| s.0.clone()).collect();
        assert_eq!(steps, ["a::b", "z"]);
    }

    #[test]
    fn top_level_modules_are_in_a_circle_through_their_children() {
        let files = [
            ("lib.rs", "mod a; mod b;"),
            ("a/mod.rs", "mod w; mod x;"),
            ("a/w.rs", "pub struct W;"),
            ("a/x.rs", "use crate::b::y::Y;"),
            ("b/mod.rs", "mod y; mod z;"),
            ("b/y.rs", "pub struct Y;"),
            ("b/z.rs", "fn f() { let _ = crate::a::w::W; }"),
        ];
        assert!(check_crate(&files).circles.is_empty(), "no circle between files");
        let report = check_crate_at(&files, true);
        assert_eq!(circle_modules(&report), vec![vec!["a".to_string(), "b".to_string()]]);
        assert_eq!(report.modules, 3, "the root and two top-level modules");
        let steps: Vec<String> = report.circles[0]
            .steps
            .iter()
            .map(|(from, to, site)| format!("{from}->{to}:{}", site.file.display()))
            .collect();
        assert!(steps.iter().any(|s| s.starts_with("a->b:") && s.ends_with("a/x.rs")), "{steps:?}");
        assert!(steps.iter().any(|s| s.starts_with("b->a:") && s.ends_with("b/z.rs")), "{steps:?}");
    }
}
