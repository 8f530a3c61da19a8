//! Which components are islands in this build (see `src/lib.rs`). The router's build renders
//! its live parts as islands: the shell's in every router bundle, the pages' where the bundle
//! has them (`bundle-pages`) and always on the server. The communities site hydrates whole
//! pages, so there they are ordinary components (an island inside a hydrated page would
//! need the islands router).

fn main() {
    cfg_aliases::cfg_aliases! {
        shell_island: { not(feature = "communities") },
        page_island: { all(not(feature = "communities"), any(feature = "ssr", feature = "bundle-pages")) },
    }
}
