//! Translations: the Fluent catalogs under `app/locales/<lang>/`, compiled into the binary
//! and the WASM bundle alike, so the server and the browser render the same words.
//!
//! English is the reference catalog; a test fails when another shipped language lacks one of
//! its keys. Lookups never panic: a missing key renders as the key itself.
//!
//! The router's bundle (islands, built without `communities`) carries no catalog: the page's
//! script fetches the page's one language from [`catalog_file`] and hands it to
//! [`load_catalog`] before any island hydrates.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A language Portico ships a complete catalog for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    De,
    Es,
    Fr,
    /// Portuguese as spoken in Brazil (the one Portuguese shipped; `pt` maps to it).
    PtBr,
    It,
}

/// The router's bundle: its islands' words come from the fetched catalog.
#[cfg(all(feature = "hydrate", not(feature = "communities")))]
static CLIENT_CATALOG: std::sync::OnceLock<FluentBundle<FluentResource>> =
    std::sync::OnceLock::new();

/// The router's bundle: the page's catalog, fetched by the page's script (`lang`'s Fluent
/// source). Every lookup reads it, whatever language is asked for.
#[cfg(all(feature = "hydrate", not(feature = "communities")))]
pub fn load_catalog(lang: Lang, source: String) {
    let _ = CLIENT_CATALOG.set(build(lang, source));
}

/// The file name under `/pkg/` the page's script fetches `lang`'s catalog from; it changes
/// with the catalog's text, so browsers may keep it for good.
#[cfg(feature = "ssr")]
pub fn catalog_file(lang: Lang) -> &'static str {
    use std::hash::{DefaultHasher, Hash as _, Hasher as _};
    static FILES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        Lang::ALL
            .into_iter()
            .map(|lang| {
                let mut hasher = DefaultHasher::new();
                lang.source().hash(&mut hasher);
                format!("i18n-{}-{:016x}.ftl", lang.code(), hasher.finish())
            })
            .collect()
    });
    &FILES[lang.index()]
}

/// The language whose catalog [`catalog_file`] names `file`.
#[cfg(feature = "ssr")]
pub fn catalog_of_file(file: &str) -> Option<Lang> {
    Lang::ALL.into_iter().find(|l| catalog_file(*l) == file)
}

impl Lang {
    /// Every shipped language, the reference (English) first.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::De, Lang::Es, Lang::Fr, Lang::PtBr, Lang::It];

    /// This language's place in [`Lang::ALL`] (for tables kept per language).
    pub fn index(self) -> usize {
        Lang::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// The BCP 47 tag, as used in `<html lang>`, the `lang` cookie and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::PtBr => "pt-BR",
            Lang::It => "it",
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
            Lang::Es => "Español",
            Lang::Fr => "Français",
            Lang::PtBr => "Português (Brasil)",
            Lang::It => "Italiano",
        }
    }

    /// Parses a tag such as `de`, `de-AT`, `pt-PT` or `EN` by its primary subtag; `None` for
    /// languages not shipped.
    pub fn from_code(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Lang::ALL
            .into_iter()
            .find(|l| l.code().split('-').next() == Some(primary.as_str()))
    }

    fn langid(self) -> LanguageIdentifier {
        self.code().parse().unwrap_or_default()
    }

    /// The raw Fluent source of this language's catalog.
    #[cfg(not(all(feature = "hydrate", not(feature = "communities"))))]
    pub fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../locales/en/main.ftl"),
            Lang::De => include_str!("../locales/de/main.ftl"),
            Lang::Es => include_str!("../locales/es/main.ftl"),
            Lang::Fr => include_str!("../locales/fr/main.ftl"),
            Lang::PtBr => include_str!("../locales/pt-BR/main.ftl"),
            Lang::It => include_str!("../locales/it/main.ftl"),
        }
    }

    #[cfg(not(all(feature = "hydrate", not(feature = "communities"))))]
    fn bundle(self) -> Option<&'static FluentBundle<FluentResource>> {
        static BUNDLES: std::sync::LazyLock<Vec<FluentBundle<FluentResource>>> =
            std::sync::LazyLock::new(|| {
                Lang::ALL
                    .into_iter()
                    .map(|l| build(l, l.source().to_owned()))
                    .collect()
            });
        BUNDLES.get(self.index())
    }

    #[cfg(all(feature = "hydrate", not(feature = "communities")))]
    #[allow(
        clippy::unused_self,
        reason = "the page's one catalog answers for its language"
    )]
    fn bundle(self) -> Option<&'static FluentBundle<FluentResource>> {
        CLIENT_CATALOG.get()
    }

    /// The message `key` in this language, falling back to English, then to the key.
    pub fn tr(self, key: &str) -> String {
        self.format(key, None)
    }

    /// Like [`Lang::tr`] with Fluent arguments (`{ $name }` in the catalog).
    pub fn tr_args(self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        self.format(key, Some(&fluent_args))
    }

    fn format(self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        for lang in [self, Lang::En] {
            let Some(bundle) = lang.bundle() else {
                continue;
            };
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
            }
        }
        key.to_owned()
    }

    /// Picks the best shipped language for an `Accept-Language` header value.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let Some(tag) = parts.next().map(str::trim).filter(|t| !t.is_empty()) else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag)
                && quality > 0.0
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

fn build(lang: Lang, source: String) -> FluentBundle<FluentResource> {
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // Unicode isolation marks around arguments would end up in numbers and paths.
    bundle.set_use_isolating(false);
    let resource = match FluentResource::try_new(source) {
        Ok(resource) => resource,
        // The catalogs are compiled in and checked by tests; keep what did parse.
        Err((resource, _errors)) => resource,
    };
    // Duplicate keys are caught by the catalog tests; a duplicate here keeps the first.
    let _ = bundle.add_resource(resource);
    bundle
}

/// The message keys a catalog defines, in file order.
#[cfg(not(all(feature = "hydrate", not(feature = "communities"))))]
pub fn catalog_keys(lang: Lang) -> Vec<String> {
    let resource = match FluentResource::try_new(lang.source().to_owned()) {
        Ok(r) | Err((r, _)) => r,
    };
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_english_key() {
        let english = catalog_keys(Lang::En);
        assert!(english.len() > 20, "the English catalog looks empty");
        for lang in Lang::ALL {
            let keys = catalog_keys(lang);
            let missing: Vec<_> = english.iter().filter(|k| !keys.contains(k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
        }
    }

    #[test]
    fn every_catalog_parses_without_errors() {
        for lang in Lang::ALL {
            let result = FluentResource::try_new(lang.source().to_owned());
            assert!(result.is_ok(), "{} catalog has syntax errors", lang.code());
        }
    }

    #[test]
    fn accept_language_picks_the_best_shipped_language() {
        assert_eq!(Lang::negotiate("de-DE,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(
            Lang::negotiate("nl-NL,nl;q=0.9,en;q=0.5,de;q=0.7"),
            Lang::De
        );
        assert_eq!(Lang::negotiate("fr-CA"), Lang::Fr);
        assert_eq!(Lang::negotiate("pt-BR,pt;q=0.9"), Lang::PtBr);
        assert_eq!(Lang::negotiate("pt-PT"), Lang::PtBr);
        assert_eq!(Lang::negotiate("es-419,it;q=0.5"), Lang::Es);
        assert_eq!(Lang::negotiate("nl"), Lang::En);
        assert_eq!(Lang::negotiate(""), Lang::En);
        assert_eq!(Lang::negotiate("de;q=0"), Lang::En);
    }

    #[test]
    fn arguments_and_plurals_are_formatted() {
        let text = Lang::De.tr_args("login-rate-limited", &[("seconds", 1.into())]);
        assert_eq!(
            text,
            "Zu viele Versuche. Bitte in einer Sekunde erneut versuchen."
        );
        let text = Lang::En.tr_args("login-rate-limited", &[("seconds", 30.into())]);
        assert_eq!(text, "Too many attempts. Try again in 30 seconds.");
    }

    /// Issue 20: every count a page shows takes its language's plural form.
    #[test]
    fn counts_take_the_plural_form_in_every_language() {
        for (key, arg) in [
            ("home-config-ok", "sections"),
            ("portal-error-wait", "seconds"),
            ("vouchers-shown", "matching"),
            ("vouchers-created", "count"),
            ("login-rate-limited", "seconds"),
        ] {
            for lang in Lang::ALL {
                let one = lang.tr_args(key, &[(arg, 1.into())]);
                let two = lang.tr_args(key, &[(arg, 2.into())]);
                assert_ne!(one, two.replace('2', "1"), "{lang:?} {key}: {one} / {two}");
                assert!(!one.contains('{') && !two.contains('{'), "{lang:?} {key}");
            }
        }
        assert_eq!(
            Lang::En.tr_args("vouchers-created", &[("count", 1.into())]),
            "1 voucher created."
        );
        assert_eq!(
            Lang::En.tr_args("home-config-ok", &[("sections", 5.into())]),
            "5 sections"
        );
    }

    #[test]
    fn missing_keys_fall_back_to_the_key() {
        assert_eq!(Lang::De.tr("no-such-key"), "no-such-key");
    }
}
