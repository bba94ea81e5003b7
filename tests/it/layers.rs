//! The module layering of `docs/architecture.md`, checked over the `crate::` paths of
//! `src/**/*.rs`: no top-level module imports one of a higher layer, and there is no cycle of
//! imports between top-level modules, nor between the files of one module. A module's
//! `mod.rs` declares and re-exports its files: its ties to them are not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, bottom to top. A module may import its own layer's modules and lower ones.
/// Keep in step with the diagram in `docs/architecture.md`.
const LAYERS: &[&[&str]] = &[
    &["error", "hash", "secret", "overlap", "progress"],
    &["model"],
    &["read"],
    &["map"],
    &["rules"],
    &["plan"],
    &["store"],
    &["vendor"],
    &["render"],
    &["push"],
    &["emulator", "generate", "cmd", "cli"],
];

/// Names `lib.rs` re-exports at the crate root, and the module they come from.
const ROOT_NAMES: &[(&str, &str)] = &[("Error", "error"), ("Result", "error")];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer of tests/layers.rs"))
}

fn source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("src is readable").path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The file's path under `src`, as module names: `src/rules/pack.rs` → `["rules", "pack"]`,
/// `src/rules/mod.rs` → `["rules"]`. `None` for the crate roots and binaries.
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") || parts == ["lib"] || parts == ["main"] {
        return None;
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// Code without its comments (a `//` inside a string literal is rare enough in `src` not to
/// matter: no `crate::` path follows one).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(n, line)| {
        let code = line.split("//").next().unwrap_or_default();
        (!code.trim().is_empty()).then_some((n + 1, code))
    })
}

/// The paths a line names from the crate root, as module names: `crate::plan::planner::X`
/// → `["plan", "planner", "X"]`; `crate::{Error, read::Row}` → `["Error"]`, `["read", "Row"]`.
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                paths.push(segments(item.trim()));
            }
            rest = &group[end..];
        } else {
            paths.push(segments(rest));
        }
    }
    paths.retain(|p| !p.is_empty());
    paths
}

fn segments(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        names.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    names
}

/// The sibling a `super::name` path of a file below a module names, if any.
fn super_paths(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        if rest.starts_with("super::") || rest.starts_with('*') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            names.extend(
                group[..end]
                    .split(',')
                    .filter_map(|i| segments(i.trim()).into_iter().next()),
            );
        } else {
            names.extend(segments(rest).into_iter().next());
        }
    }
    names
}

struct Imports {
    /// Top-level module → the top-level modules it imports, with one place each.
    modules: BTreeMap<String, BTreeMap<String, String>>,
    /// File → the files of the same module it imports, with one place each.
    files: BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>,
}

fn imports() -> Imports {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().filter_map(|f| module_path(&src, f)).collect();
    let mut found = Imports {
        modules: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    for file in &files {
        let Some(me) = module_path(&src, file) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("source files are text");
        let shown = file.strip_prefix(&src).unwrap().display().to_string();
        for (line_number, code) in code_lines(&text) {
            let place = format!("src/{shown}:{line_number}");
            let mut named: Vec<Vec<String>> = crate_paths(code);
            // `super::x` of a file in a module: the sibling `x` (or an item of the parent).
            if me.len() >= 2 {
                let parent = &me[..me.len() - 1];
                for name in super_paths(code) {
                    let mut path = parent.to_vec();
                    path.push(name);
                    named.push(path);
                }
            }
            for mut path in named {
                if let Some((_, module)) = ROOT_NAMES.iter().find(|(name, _)| *name == path[0]) {
                    path[0] = module.to_string();
                }
                if path[0] != me[0] {
                    found
                        .modules
                        .entry(me[0].clone())
                        .or_default()
                        .entry(path[0].clone())
                        .or_insert_with(|| place.clone());
                    continue;
                }
                // The longest file the path names, within the same module.
                let target = (1..=path.len())
                    .rev()
                    .map(|n| path[..n].to_vec())
                    .find(|p| known.contains(p));
                if let Some(target) = target {
                    let siblings = target.len() == me.len()
                        && target[..target.len() - 1] == me[..me.len() - 1];
                    if siblings && target != me {
                        found
                            .files
                            .entry(me.clone())
                            .or_default()
                            .entry(target)
                            .or_insert_with(|| place.clone());
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_higher_layer() {
    let mut wrong = Vec::new();
    for (module, imported) in imports().modules {
        for (other, place) in imported {
            if layer_of(&other) > layer_of(&module) {
                wrong.push(format!(
                    "{place}: `{module}` imports `{other}`, a higher layer"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports running up the layers:\n{}",
        wrong.join("\n")
    );
}

/// A cycle of `graph`, as the places of its imports, if it has one.
fn find_cycle<N: Ord + Clone>(graph: &BTreeMap<N, BTreeMap<N, String>>) -> Option<Vec<String>> {
    fn visit<N: Ord + Clone>(
        node: &N,
        graph: &BTreeMap<N, BTreeMap<N, String>>,
        path: &mut Vec<(N, String)>,
        done: &mut BTreeSet<N>,
    ) -> Option<Vec<String>> {
        if done.contains(node) {
            return None;
        }
        for (next, place) in graph.get(node).into_iter().flatten() {
            if let Some(at) = path.iter().position(|(n, _)| n == next) {
                let mut cycle: Vec<String> =
                    path[at + 1..].iter().map(|(_, p)| p.clone()).collect();
                cycle.push(place.clone());
                return Some(cycle);
            }
            path.push((next.clone(), place.clone()));
            let found = visit(next, graph, path, done);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        let mut path = vec![(node.clone(), String::new())];
        if let Some(cycle) = visit(node, graph, &mut path, &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_cycle_between_modules() {
    if let Some(cycle) = find_cycle(&imports().modules) {
        panic!(
            "modules import each other in a cycle:\n{}",
            cycle.join("\n")
        );
    }
}

#[test]
fn no_cycle_between_the_files_of_a_module() {
    if let Some(cycle) = find_cycle(&imports().files) {
        panic!("files import each other in a cycle:\n{}", cycle.join("\n"));
    }
}

#[test]
fn a_cycle_is_found() {
    let edge = |to: &str, place: &str| (to.to_string(), place.to_string());
    let graph: BTreeMap<String, BTreeMap<String, String>> = [
        ("a".to_string(), [edge("b", "a.rs:1")].into()),
        ("b".to_string(), [edge("c", "b.rs:2")].into()),
        ("c".to_string(), [edge("a", "c.rs:3")].into()),
    ]
    .into();
    assert_eq!(find_cycle(&graph).unwrap(), ["a.rs:1", "b.rs:2", "c.rs:3"]);
    let mut acyclic = graph.clone();
    acyclic.remove("c");
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn the_checks_see_imports() {
    let modules = imports().modules;
    // A known downward import, so the checks above cannot pass by finding nothing.
    assert!(modules["store"].contains_key("model"));
    assert!(modules["plan"].contains_key("error"));
    let files = imports().files;
    assert!(files[&vec!["rules".to_string(), "evaluate".to_string()]]
        .contains_key(&vec!["rules".to_string(), "engine".to_string()]));
}

#[test]
fn the_layers_name_every_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    for file in files {
        if let Some(path) = module_path(&src, &file) {
            layer_of(&path[0]);
        }
    }
}
