//! The Freifunk API history for Portico's communities site.
//!
//! - [`model`]: one community entry, read tolerantly across every schema version.
//! - [`source`]: history files (`.json`, `.json.gz`, `.json.tar.gz`) → snapshots.
//! - [`prepare`]: the parallel half of an import (documents made canonical and hashed).
//! - [`store`]: what every store offers ([`store::Sink`] for imports, [`store::Read`] for
//!   queries); [`sqlite`] is the embedded one, [`mongo`] (feature `mongodb`) the one at scale.
//! - [`import`]: the whole import: parallel, idempotent, resumable, with progress.
//! - [`profile`]: hours-of-day and weekday profiles from hourly data.
//! - [`synth`]: realistic history generated from one real snapshot.
//! - [`colors`]: the one colour table every chart uses.

pub mod colors;
#[cfg(feature = "store")]
pub mod import;
pub mod model;
#[cfg(feature = "mongodb")]
pub mod mongo;
#[cfg(feature = "store")]
pub mod prepare;
pub mod profile;
pub mod query;
#[cfg(feature = "store")]
mod rollup;
#[cfg(feature = "store")]
pub mod source;
#[cfg(feature = "store")]
pub mod sqlite;
#[cfg(feature = "store")]
pub mod store;
#[cfg(feature = "store")]
pub mod synth;
