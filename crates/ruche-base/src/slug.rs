//! Turning titles into URL words: accents dropped, lower case, words joined by dashes; and
//! cleaning the names people give (titles, names, file names) of characters that disguise them.

/// Whether `c` changes the direction text is shown in (U+202E makes `Facture \u{202e}fdp.exe`
/// read "Facture exe.pdf"). Nobody needs one in a title, a name or a file name.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A title, name or file name as people type it, trimmed, without direction controls or other
/// control characters.
pub fn clean_label(text: &str) -> String {
    text.chars()
        .filter(|c| !is_bidi_control(*c) && !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// "Comité de pilotage : cœur" → "comite-de-pilotage-coeur", at most `max` characters.
pub fn slugify(title: &str, max: usize) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.chars().take(max).collect();
    slug.trim_matches('-').to_owned()
}

/// Whether `s` is already a slug: lower-case ASCII letters, digits and inner dashes.
pub fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// French (and common Latin) accented letters to their plain form.
fn fold_accent(c: char) -> Vec<char> {
    let plain = match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
        'À' | 'Â' | 'Ä' | 'Á' | 'Ã' | 'Å' => "A",
        'ç' => "c",
        'Ç' => "C",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'î' | 'ï' | 'í' | 'ì' => "i",
        'Î' | 'Ï' | 'Í' | 'Ì' => "I",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
        'Ô' | 'Ö' | 'Ó' | 'Ò' | 'Õ' => "O",
        'ù' | 'û' | 'ü' | 'ú' => "u",
        'Ù' | 'Û' | 'Ü' | 'Ú' => "U",
        'ÿ' => "y",
        'ñ' => "n",
        'œ' => "oe",
        'Œ' => "OE",
        'æ' => "ae",
        'Æ' => "AE",
        _ => return vec![c],
    };
    plain.chars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_url_words() {
        assert_eq!(
            slugify("Comité de pilotage : cœur & œuvre", 80),
            "comite-de-pilotage-coeur-oeuvre"
        );
        assert_eq!(slugify("  Feuille de route 2025 !", 80), "feuille-de-route-2025");
        assert_eq!(slugify("👋", 80), "");
        assert!(is_slug("feuille-de-route", 80) && !is_slug("Feuille", 80));
    }

    #[test]
    fn labels_lose_direction_controls() {
        assert_eq!(super::clean_label(" Facture \u{202e}fdp.exe\r\n"), "Facture fdp.exe");
        assert_eq!(super::clean_label("Comité \u{2067}x\u{2069}"), "Comité x");
    }
}
