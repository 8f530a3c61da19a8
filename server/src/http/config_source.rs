//! The app's config server functions, backed by the apply manager (the same one behind
//! `/api/v1/config/...`, with the same checks and error codes).

use std::sync::Arc;

use app::ApplyStatus;
use app::config::{
    Applied, ConfigEdit, ConfigError, ConfigFile, ConfigSource, EditValue, Location, ParseProblem,
    SectionView,
};
use app::i18n::Lang;

use super::api::{apply_error, parse_error, to_edit};
use crate::apply::Applier;
use crate::web::AppError;

struct Source {
    applier: Applier,
}

pub(super) fn source(applier: &Applier) -> Arc<dyn ConfigSource> {
    Arc::new(Source {
        applier: applier.clone(),
    })
}

impl From<AppError> for ConfigError {
    fn from(e: AppError) -> Self {
        let extra = e.extra.map(|x| *x).unwrap_or_default();
        let number = |key: &str| {
            extra
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
        };
        let file = extra
            .get("file")
            .and_then(|f| f.as_str())
            .map(str::to_owned);
        let location = match (file, number("line"), number("byte")) {
            (Some(file), Some(line), Some(byte)) => Some(Box::new(Location { file, line, byte })),
            _ => None,
        };
        ConfigError {
            code: e.code.to_owned(),
            message: e.message,
            field: e.field,
            location,
        }
    }
}

fn edits(edits: &[ConfigEdit], lang: Lang) -> Result<Vec<uci::Edit>, ConfigError> {
    edits
        .iter()
        .map(|e| to_edit(e, lang).map_err(ConfigError::from))
        .collect()
}

impl ConfigSource for Source {
    fn files(&self) -> Vec<ConfigFile> {
        let store = self.applier.store();
        store
            .list()
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let parsed = store
                    .read(&name)
                    .ok()
                    .map(|bytes| uci::parse(&name, &bytes));
                let (sections, problem) = match parsed {
                    Some(Ok(p)) => (Some(p.sections.len()), None),
                    Some(Err(e)) => (
                        None,
                        Some(ParseProblem {
                            line: e.line,
                            byte: e.byte,
                            reason: e.reason.to_owned(),
                        }),
                    ),
                    None => (None, None),
                };
                ConfigFile {
                    name,
                    sections,
                    problem,
                }
            })
            .collect()
    }

    fn read(&self, name: &str, lang: Lang) -> Result<Vec<SectionView>, ConfigError> {
        let bytes = self.applier.store().read(name).map_err(|e| {
            AppError::with_args(
                http::StatusCode::NOT_FOUND,
                "unknown_config",
                "error-unknown-config",
                lang,
                &[(
                    "file",
                    fluent_bundle::FluentValue::from(format!("{name} ({e})")),
                )],
            )
        })?;
        let package = uci::parse(name, &bytes).map_err(|e| parse_error(name, &e, lang))?;
        Ok(package
            .sections
            .iter()
            .map(|s| SectionView {
                name: s.name.clone(),
                kind: s.kind.clone(),
                anonymous: s.anonymous,
                options: s
                    .options
                    .iter()
                    .map(|o| {
                        let value = match &o.value {
                            uci::Value::Single(v) => EditValue::Text(v.to_string()),
                            uci::Value::List(items) => {
                                EditValue::List(items.iter().map(ToString::to_string).collect())
                            }
                        };
                        (o.name.clone(), value)
                    })
                    .collect(),
            })
            .collect())
    }

    fn preview(&self, list: Vec<ConfigEdit>, lang: Lang) -> Result<String, ConfigError> {
        let edits = edits(&list, lang)?;
        self.applier
            .preview(&edits)
            .map_err(|e| apply_error(&e, lang).into())
    }

    fn apply(
        &self,
        list: Vec<ConfigEdit>,
        checked: bool,
        lang: Lang,
    ) -> Result<Applied, ConfigError> {
        let edits = edits(&list, lang)?;
        let result = self
            .applier
            .apply(&edits, checked)
            .map_err(|e| ConfigError::from(apply_error(&e, lang)))?;
        Ok(Applied {
            token: result.token,
            seconds: result.seconds,
            files: result.files,
        })
    }

    fn confirm(&self, lang: Lang) -> Result<(), ConfigError> {
        self.applier
            .confirm(None)
            .map_err(|e| apply_error(&e, lang).into())
    }

    fn rollback(&self, lang: Lang) -> Result<(), ConfigError> {
        self.applier
            .rollback()
            .map_err(|e| apply_error(&e, lang).into())
    }

    fn status(&self) -> ApplyStatus {
        super::convert::apply_status(&self.applier.status())
    }
}
