//! The communities site (`serve --profile communities`): the Freifunk API history, imported
//! by `portico communities import`, answered from the store's rollups by a JSON API, pages
//! and embeddable charts.

pub mod api;
pub mod cli;
pub mod fetch;
pub mod pages;
pub mod site;
