//! The interface's texts (`locales/`, at the workspace's root) are embedded by `rust_i18n::i18n!`,
//! which does not tell cargo it read them: without this, a changed text would not rebuild the
//! crate and the old words (or a bare key) would be shown.
fn main() {
    println!("cargo:rerun-if-changed=../../locales");
}
