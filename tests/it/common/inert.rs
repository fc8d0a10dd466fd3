//! What in an HTML document could run. Shared by the XSS tests, the fuzz regression tests and
//! the renderer's fuzz target (`fuzz/`), so all three hold rendered HTML to one standard.
#![allow(dead_code)]

/// Every problem found in `html`, with where. `ours` is a page of the site (its own bundles,
/// JSON data blocks, `<meta>`, forms and styles are expected); otherwise it is user content.
pub fn dangers(html: &str, ours: bool) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let mut found = Vec::new();
    let all = scraper::Selector::parse("*").expect("a valid selector");
    for element in doc.select(&all) {
        let e = element.value();
        let name = e.name();
        match name {
            // The site's own scripts: its bundles and JSON data blocks, nothing else.
            "script" if ours => {
                let src = e.attr("src").unwrap_or("");
                let data = e.attr("type") == Some("application/json");
                if !(src.starts_with("/assets/") || data) {
                    found.push(format!("a script element: {}", element.html()));
                }
                if data && element.inner_html().contains('<') {
                    found.push("a '<' inside a JSON data block".into());
                }
            }
            // The site's own pages carry their own <meta> (charset, viewport).
            "meta" if ours => {}
            "script" | "iframe" | "object" | "embed" | "svg" | "math" | "style" | "meta"
            | "base" | "frame" | "frameset" | "applet" => {
                found.push(format!("a {name} element: {}", element.html()));
            }
            "form" | "link" if !ours => found.push(format!("a {name} element")),
            _ => {}
        }
        for (attr, value) in e.attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") {
                found.push(format!("an event handler {attr}={value:?} on <{name}>"));
            }
            if attr == "style" && !ours {
                found.push(format!("a style attribute on <{name}>"));
            }
            if ["href", "src", "action", "formaction", "data", "xlink:href", "srcset"]
                .contains(&attr.as_str())
            {
                let cleaned: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if ["javascript:", "vbscript:", "data:"].iter().any(|s| cleaned.starts_with(s)) {
                    found.push(format!("a dangerous URL {attr}={value:?} on <{name}>"));
                }
            }
        }
    }
    found
}
