//! The module picture of `server/src`: which top-level module uses which, and a check that the
//! picture has no cycles. A cycle means two modules can only be understood (and changed)
//! together; each capability should depend on the shared kit below it, never on the edge above.
//!
//! `cargo test -p portico --test modules -- --nocapture` prints the picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("server/src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments, so prose that names a module is no dependency.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named by `crate::…` paths in `source`, including grouped imports
/// (`use crate::{a::X, b}`).
fn crate_references(source: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.extend(first_segment(&item, modules));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            found.extend(first_segment(&item, modules));
        } else {
            found.extend(first_segment(rest, modules));
        }
    }
    found
}

fn first_segment(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    modules.contains(&name).then_some(name)
}

/// Which top-level module of `server/src` uses which.
fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top_level = |file: &Path| -> Option<String> {
        let relative = file.strip_prefix(&src).ok()?;
        let first = relative.components().next()?.as_os_str().to_str()?;
        let name = first.strip_suffix(".rs").unwrap_or(first);
        (!matches!(name, "lib" | "main")).then(|| name.to_owned())
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_level(f)).collect();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in &files {
        let Some(module) = top_level(file) else {
            continue;
        };
        let source = std::fs::read_to_string(file).expect("source is readable");
        let used = crate_references(&without_comments(&source), &modules);
        let edges = graph.get_mut(&module).expect("every module is a node");
        edges.extend(used.into_iter().filter(|m| *m != module));
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in &self.graph[node] {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.found
}

#[test]
fn server_modules_have_no_import_cycles() {
    let graph = module_graph();
    println!("module → the modules it uses (server/src)");
    for (module, uses) in &graph {
        let uses: Vec<&str> = uses.iter().map(String::as_str).collect();
        println!("  {module:<12} → {}", uses.join(", "));
    }
    let cycles = cycles(&graph);
    for cycle in &cycles {
        let edges: Vec<String> = cycle
            .iter()
            .flat_map(|from| {
                graph[from]
                    .iter()
                    .filter(|to| cycle.contains(to))
                    .map(move |to| format!("{from} → {to}"))
            })
            .collect();
        println!("cycle: {} ({})", cycle.join(", "), edges.join("; "));
    }
    assert!(
        cycles.is_empty(),
        "import cycles between server modules: {cycles:?}"
    );
}

#[test]
fn the_scan_sees_grouped_and_nested_imports() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let source = "use crate::{a::X, b::{Y, Z}};\nfn f() { crate::c::go(); notcrate::d::x(); }";
    let found = crate_references(source, &modules);
    assert_eq!(found, ["a", "b", "c"].map(String::from).into());

    let graph: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, uses)| (m.to_owned(), uses.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycles(&graph),
        vec![vec!["a".to_owned(), "b".into(), "c".into()]]
    );
}
