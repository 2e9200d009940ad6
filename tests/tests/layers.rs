//! The library's layers point one way: the domain and the DynamoDB toolkit at the bottom
//! import nothing of ours; the stores import them (and the bottom utilities), never the
//! request pipeline,
//! the views or the app; and no module of `shared/src` imports itself back through
//! another. Read from the source, so that a new import that breaks them fails here.

// A panic is how a test reports a failure.
#![allow(clippy::unwrap_used)]

use planoauth_tests::repository_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate-level names `lib.rs` re-exports, by the module they come from.
const REEXPORTS: [(&str, &str); 6] = [
    ("App", "app"),
    ("ApiError", "error"),
    ("Ctx", "pipeline"),
    ("Endpoint", "pipeline"),
    ("Reply", "pipeline"),
    ("Status", "status"),
];

/// Each top-level module of `shared/src` with the top-level modules its code (tests
/// aside) names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = repository_root().join("shared/src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    collect(&root, &mut files);
    for file in files {
        let relative = file.strip_prefix(&root).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let imported = graph.entry(module.clone()).or_default();
        for name in crate_names(code) {
            let target = REEXPORTS
                .iter()
                .find(|(reexport, _)| *reexport == name)
                .map_or(name.clone(), |(_, module)| (*module).to_owned());
            if target != module {
                imported.insert(target);
            }
        }
    }
    graph
}

/// The top-level names `code` reaches through `crate::`: `crate::a::b` names `a`, and
/// `use crate::{a::{b, c}, d}` names `a` and `d`.
fn crate_names(code: &str) -> BTreeSet<String> {
    let head = |path: &str| -> String {
        path.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        let rest = &code[index + "crate::".len()..];
        let Some(list) = rest.strip_prefix('{') else {
            names.insert(head(rest));
            continue;
        };
        let (mut depth, mut item) = (0, String::new());
        for c in list.chars() {
            match c {
                '}' if depth == 0 => break,
                ',' if depth == 0 => {
                    names.insert(head(&std::mem::take(&mut item)));
                }
                '{' => {
                    depth += 1;
                    item.push(c);
                }
                '}' => {
                    depth -= 1;
                    item.push(c);
                }
                _ => item.push(c),
            }
        }
        names.insert(head(&item));
    }
    names.remove("");
    names
}

#[test]
fn brace_lists_name_each_of_their_modules() {
    let code = "use crate::{a::{b, c}, d};\nfn f() { crate::e::g(); }";
    let names: Vec<String> = crate_names(code).into_iter().collect();
    assert_eq!(names, ["a", "d", "e"]);
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn the_domain_imports_nothing_of_ours() {
    let graph = imports();
    assert!(graph.contains_key("domain"));
    assert_eq!(graph["domain"], BTreeSet::new());
}

#[test]
fn the_dynamodb_toolkit_imports_nothing_of_ours() {
    let graph = imports();
    assert!(graph.contains_key("dynamo"));
    assert_eq!(graph["dynamo"], BTreeSet::new());
}

#[test]
fn the_stores_import_the_domain_and_nothing_above_them() {
    let graph = imports();
    let allowed: BTreeSet<String> = ["clock", "domain", "dynamo", "metrics", "tokens"]
        .map(String::from)
        .into();
    let above: Vec<&String> = graph["store"].difference(&allowed).collect();
    assert!(above.is_empty(), "the stores import {above:?}");
}

#[test]
fn no_module_imports_itself_back() {
    let graph = imports();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(module) = stack.pop() {
            assert_ne!(module, start, "{start} imports itself back");
            if seen.insert(module) {
                stack.extend(graph.get(module).into_iter().flatten());
            }
        }
    }
}

/// The files of a folder of `shared/src`, with their code (tests aside).
fn code_of(folder: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    collect(
        &repository_root().join("shared/src").join(folder),
        &mut files,
    );
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            (name, code)
        })
        .collect()
}

#[test]
fn no_store_calls_another_store_or_runs_a_transaction() {
    for (name, code) in code_of("store") {
        if name == "mod.rs" {
            continue;
        }
        for forbidden in ["self.db.", "transact_write_items", ".run(&", ".run_within("] {
            assert!(
                !code.contains(forbidden),
                "store/{name} contains `{forbidden}`: a store builds steps for its own table, \
                 and the use case runs the transaction"
            );
        }
    }
}

/// A store is one table's items and steps (or one concern of a table's items, as the
/// account's second factor is of the users table's, and sessions' expiry of the sessions
/// table's): no file over 500 lines, and at most
/// 220 lines a table on average, the tables counted with the concerns that have a store
/// of their own (the stores of the first 16 tables came to 3,476).
#[test]
fn the_stores_stay_small() {
    let stores = code_of("store");
    let mut total = 0;
    for (name, _) in &stores {
        let path = repository_root().join("shared/src/store").join(name);
        let lines = std::fs::read_to_string(path).unwrap().lines().count();
        assert!(lines <= 500, "store/{name} has {lines} lines");
        total += lines;
    }
    // The tables' second concerns: `store/second_factors.rs`, `store/session_expiry.rs`.
    let stores_of_tables = planoauth::store::tables::Tables::RESOURCES.len() + 2;
    assert!(
        total <= 220 * stores_of_tables,
        "the stores have {total} lines for {stores_of_tables} tables and concerns"
    );
}

#[test]
fn no_module_of_the_operator_tool_imports_itself_back() {
    let root = repository_root().join("tools/admin/src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    collect(&root, &mut files);
    for file in files {
        let module = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let imported = graph.entry(module.clone()).or_default();
        imported.extend(crate_names(code).into_iter().filter(|name| *name != module));
    }
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph[start].iter().collect();
        while let Some(module) = stack.pop() {
            assert_ne!(module, start, "tools/admin: {start} imports itself back");
            if seen.insert(module) {
                stack.extend(graph.get(module).into_iter().flatten());
            }
        }
    }
}
