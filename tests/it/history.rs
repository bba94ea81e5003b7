//! `roster history`: the applies of a tenant with their counts.

use crate::common::Workdir;

#[test]
fn history_lists_applies_with_counts() {
    let w = Workdir::new();
    w.write("a.csv", "external_id\nu1\nu2\n");
    w.write("b.csv", "external_id,cud\nu1,3\nu3,1\n");
    w.ok(&["plan", "a.csv"]);
    assert!(w.ok(&["history"]).stdout.contains("No applies yet."));
    for file in ["a.csv", "b.csv"] {
        w.ok(&["plan", file]);
        w.ok(&["apply", "latest"]);
    }
    let history = w.ok(&["history", "--output", "json"]).json();
    let rows = history["applies"].as_array().unwrap();
    assert_eq!(history["vendor_results"], serde_json::json!([]));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["created"].as_u64(), rows[0]["deleted"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(
        (rows[1]["created"].as_u64(), rows[1]["deleted"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(rows[1]["kind"], "plan");
    assert_eq!(
        (rows[1]["via"].as_str(), rows[1]["rolled_back"].as_u64()),
        (Some("apply"), Some(0))
    );
    let table = w.ok(&["history"]).stdout;
    assert!(
        table.contains("applied at") && table.contains("│ 2     │"),
        "{table}"
    );
}
