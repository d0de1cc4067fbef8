//! `rulec diff` and `rulec audit` on the shipped rulesets: goldens in `tests/diff_audit/`.
//!
//! The tree diff copies `rulesets/` twice and edits the copy once for each kind of change:
//! a param's value, a param's new version (which also ends the old one: a period change), a
//! citation, table rows changed, added and removed, bands, series years changed and added,
//! catalog rows changed (by column), added and removed, definitions changed, added and
//! removed, and a definition only re-spaced and commented (which must not show). The date diff compares the shipped rules at 2023-06-01
//! and 2024-06-01. The audit lists the shipped rules in every format.
//!
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test --test diff_audit`.

use std::path::{Path, PathBuf};

mod common;
use common::copy_dir;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str, got: &str) {
    let path = root().join("tests/diff_audit").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        got, want,
        "{name} differs from its golden (UPDATE_GOLDEN=1 to accept)"
    );
}

/// Replaces `from` by `to` in a file, asserting the text was there.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    assert!(text.contains(from), "`{from}` not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

fn rulec(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::rulec_in(dir, args)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rulec-diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `old/` is the shipped tree, `new/` the same with one edit per kind of change.
fn edited_trees(name: &str) -> PathBuf {
    let dir = temp(name);
    copy_dir(&root().join("rulesets"), &dir.join("old"));
    copy_dir(&root().join("rulesets"), &dir.join("new"));
    let new = dir.join("new");
    let binzhou = new.join("shandong/binzhou/outpatient_pooling.rulec");
    // A param gains a version (the old one now ends the day before).
    edit(
        &binzhou,
        "  from 2024-01-01 = 200 cite assumed\n",
        "  from 2024-01-01 = 200 cite assumed\n  from 2025-01-01 = 300 cite assumed\n",
    );
    // A table row's value.
    edit(&binzhou, "active  => 4_500", "active  => 5_000");
    // A definition's meaning.
    edit(
        &binzhou,
        "pooling_ratio_now, 0.01, half_up)",
        "pooling_ratio_now, 1, half_up)",
    );
    // A definition re-spaced and commented: no change.
    edit(
        &binzhou,
        "def pooling_applies: bool = claim.visit == outpatient and claim.insured.scheme == employee",
        "def pooling_applies: bool =\n  claim.visit == outpatient // outpatient care only\n    and claim.insured.scheme   == employee",
    );
    // A definition added.
    edit(
        &binzhou,
        "accumulator outpatient_deductible_paid",
        "output pooling_share: rate = pooling_ratio_now\n\naccumulator outpatient_deductible_paid",
    );
    let qingdao = new.join("shandong/qingdao");
    // A citation: assumed becomes cited.
    edit(
        &qingdao.join("delivery.rulec"),
        "from 2023-01-01 = 2_600 cite assumed",
        "from 2023-01-01 = 2_600 cite \"青岛市医保局 2023 年生育医疗费用定额标准\"",
    );
    // Series years: one changed, one added, one removed.
    edit(
        &qingdao.join("cpi.csv"),
        "2024,100.2",
        "2024,100.3\n2025,100.8",
    );
    edit(&qingdao.join("cpi.csv"), "2021,100.9\n", "");
    // A param's value.
    edit(
        &qingdao.join("delivery.rulec"),
        "from 2023-01-01 = 3_800 cite assumed",
        "from 2023-01-01 = 4_000 cite assumed",
    );
    let jilin = new.join("jilin/jilin.rulec");
    // A coverage clause's citation: the same clause, changed (cite).
    edit(
        &jilin,
        "§6 Applies to: visit = inpatient, scheme = resident\"",
        "§6 Applies to: visit = inpatient, scheme = resident (checked)\"",
    );
    // Table rows: one removed, one added.
    edit(
        &jilin,
        "table resident_deductible(level: int): money { 1 => 200  2 => 500  3 => 800 }",
        "table resident_deductible(level: int): money { 1 => 200  2 => 500  4 => 900 }",
    );
    // A definition removed.
    edit(
        &jilin,
        "exception epidemic_no_cut to ratio_cut\n  when epidemic_case = 0%\n  cite jilin_epidemic \"异地就医不降低报销比例\"\n",
        "",
    );
    // Bands.
    edit(
        &new.join("jilin/jilin.rulec"),
        "50_000 .. 100_000 => 65%",
        "50_000 .. 100_000 => 66%",
    );
    // Catalog rows: a column changed, a row removed, a row added.
    let catalog = new.join("china/catalog.csv");
    edit(
        &catalog,
        "XA004,clopidogrel tablet 氯吡格雷片,drug,B,10%,",
        "XA004,clopidogrel tablet 氯吡格雷片,drug,B,15%,",
    );
    edit(&catalog, "XA002,metformin tablet 二甲双胍片,drug,A,,\n", "");
    let text = std::fs::read_to_string(&catalog).expect("read");
    std::fs::write(
        &catalog,
        format!("{text}XA099,losartan tablet 氯沙坦钾片,drug,B,10%,\n"),
    )
    .expect("write");
    let (code, _, err) = rulec(&dir, &["check", "new"]);
    assert_eq!(code, 0, "the edited tree must check: {err}");
    dir
}

#[test]
fn diff_of_two_trees_shows_each_kind_of_change() {
    let dir = edited_trees("trees");
    let (code, human, err) = rulec(&dir, &["diff", "old", "new"]);
    assert_eq!(code, 0, "{err}");
    golden("trees.txt", &human);
    let (code, json, _) = rulec(&dir, &["diff", "old", "new", "--format", "json"]);
    assert_eq!(code, 0);
    golden("trees.json", &json);
    let (code, md, _) = rulec(&dir, &["diff", "old", "new", "--format", "markdown"]);
    assert_eq!(code, 0);
    golden("trees.md", &md);

    // What the goldens must hold, whatever they say.
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let changes = v["changes"].as_array().expect("changes");
    let find = |name: &str, change: &str| {
        changes
            .iter()
            .find(|c| c["name"] == name && c["change"] == change)
            .unwrap_or_else(|| panic!("no {change} {name} in {json}"))
    };
    let cap = find("pooling_cap[active]", "changed");
    assert_eq!(cap["old"]["value"], "4500.00");
    assert_eq!(cap["new"]["value"], "5000.00");
    assert_eq!(cap["new"]["status"], "cited");
    assert_eq!(find("pooling_deductible", "changed")["what"][0], "period");
    assert_eq!(
        find("pooling_deductible", "added")["new"]["value"],
        "300.00"
    );
    assert_eq!(find("natural_base", "changed")["what"][0], "cite");
    assert_eq!(find("critical_bands", "changed")["what"][0], "value");
    assert_eq!(find("cpi[2024]", "changed")["new"]["value"], "100.3");
    find("cpi[2025]", "added");
    assert_eq!(find("cpi[2021]", "removed")["old"]["value"], "100.9");
    let covers = find(
        "claim.visit == inpatient and claim.insured.scheme == resident",
        "changed",
    );
    assert_eq!(covers["what"], serde_json::json!(["cite"]));
    assert_eq!(covers["kind"], "covers");
    assert_eq!(find("national[XA004]", "changed")["what"][0], "b_share");
    find("national[XA002]", "removed");
    find("national[XA099]", "added");
    find("outpatient_pooling", "changed");
    find("pooling_share", "added");
    assert_eq!(find("cesarean_base", "changed")["new"]["value"], "4000.00");
    find("resident_deductible[3]", "removed");
    find("resident_deductible[4]", "added");
    assert_eq!(find("epidemic_no_cut", "removed")["kind"], "exception");
    assert!(
        !changes.iter().any(|c| c["name"] == "pooling_applies"),
        "spacing and comments are not changes"
    );

    // One region: its parents' changes are listed too, under the parent that declares them.
    let (code, json, err) = rulec(
        &dir,
        &[
            "diff",
            "old/shandong/binzhou",
            "new/shandong/binzhou",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let rulesets: Vec<(&str, &str)> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["ruleset"].as_str().unwrap_or(""),
                c["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        rulesets.contains(&("china", "national[XA004]")),
        "{rulesets:?}"
    );
    assert!(
        rulesets.contains(&("shandong/binzhou", "pooling_cap[active]")),
        "{rulesets:?}"
    );
    assert!(
        !rulesets.iter().any(|(r, _)| r.starts_with("jilin")),
        "{rulesets:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_of_two_dates() {
    let root = root();
    // Shandong: Binzhou's pooling starts on 2024-01-01 (values and definitions added).
    let args = [
        "diff",
        "rulesets/shandong",
        "--at",
        "2023-06-01",
        "--at",
        "2024-06-01",
    ];
    let (code, human, err) = rulec(&root, &args);
    assert_eq!(code, 0, "{err}");
    golden("dates.txt", &human);
    let (code, md, _) = rulec(&root, &[&args[..], &["--format", "markdown"]].concat());
    assert_eq!(code, 0);
    golden("dates.md", &md);
    // The whole tree: Jilin's critical-illness cap and its new catalogs.
    let args = [
        "diff",
        "rulesets",
        "--at",
        "2023-06-01",
        "--at",
        "2024-06-01",
    ];
    let (code, json, _) = rulec(&root, &[&args[..], &["--format", "json"]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let cap = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["name"] == "critical_cap")
        .expect("Jilin's critical-illness cap changes on 2024-01-01");
    assert_eq!(cap["old"]["value"], "300000.00");
    assert_eq!(cap["new"]["value"], "400000.00");
    assert_eq!(cap["old"]["in_force"], "from 2020-01-01 until 2023-12-31");
    // Jilin's three catalogs (80 + 361 + 319 rows) start on 2024-01-01.
    assert!(
        v["summary"]["catalog rows"]["added"].as_u64() >= Some(760),
        "{}",
        v["summary"]
    );
}

#[test]
fn identical_trees_have_no_changes() {
    let (code, out, _) = rulec(
        &root(),
        &["diff", "rulesets", "rulesets", "--format", "json"],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(0));
    let (_, human, _) = rulec(&root(), &["diff", "rulesets", "rulesets"]);
    assert!(human.ends_with("no changes\n"), "{human}");
}

#[test]
fn diff_and_audit_refuse_bad_input() {
    let dir = temp("bad");
    std::fs::create_dir_all(dir.join("broken")).expect("mkdir");
    std::fs::write(
        dir.join("broken/x.rulec"),
        "ruleset \"broken\"\nparam p: money = \n",
    )
    .expect("write");
    let (code, out, err) = rulec(&dir, &["audit", "broken"]);
    assert_eq!(code, 1, "rules with errors: {out}{err}");
    assert!(err.contains("fix them first"), "{err}");
    let (code, _, err) = rulec(&dir, &["diff", "broken", "missing"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, err) = rulec(&dir, &["diff", "broken", "--at", "2024-01-01"]);
    assert_eq!(code, 2, "one date: {err}");
    let (code, _, err) = rulec(
        &dir,
        &["diff", "broken", "--at", "2024-13-01", "--at", "2024-01-01"],
    );
    assert_eq!(code, 2, "a bad date: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_of_the_shipped_rulesets() {
    let root = root();
    for (format, file) in [
        ("human", "audit.txt"),
        ("json", "audit.json"),
        ("csv", "audit.csv"),
        ("markdown", "audit.md"),
    ] {
        let (code, out, err) = rulec(&root, &["audit", "rulesets", "--format", format]);
        assert_eq!(code, 0, "{err}");
        golden(file, &out);
    }
    // Counts agree with the listing.
    let (_, json, _) = rulec(&root, &["audit", "rulesets", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let summary = v["summary"].as_array().expect("summary");
    let total = summary.last().expect("total line");
    assert_eq!(total["ruleset"], "total");
    let versions: usize = v["rulesets"]
        .as_array()
        .expect("rulesets")
        .iter()
        .flat_map(|r| r["values"].as_array().cloned().unwrap_or_default())
        .map(|e| e["versions"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(total["versions"].as_u64(), Some(versions as u64));
    let sum = |k: &str| total[k].as_u64().unwrap_or(0);
    assert_eq!(
        sum("cited") + sum("assumed") + sum("uncited"),
        sum("versions")
    );
    // Binzhou's deductible is an assumption; its cap is cited.
    let binzhou = v["rulesets"]
        .as_array()
        .expect("rulesets")
        .iter()
        .find(|r| r["ruleset"] == "shandong/binzhou")
        .expect("binzhou");
    let status = |name: &str| {
        binzhou["values"]
            .as_array()
            .expect("values")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["versions"][0]["status"].clone())
    };
    assert_eq!(status("pooling_deductible"), Some("assumed".into()));
    assert_eq!(status("pooling_cap[active]"), Some("cited".into()));
    // Catalogs with their files and row counts.
    let jilin = v["rulesets"]
        .as_array()
        .expect("rulesets")
        .iter()
        .find(|r| r["ruleset"] == "jilin")
        .expect("jilin");
    let tcm = jilin["catalogs"]
        .as_array()
        .expect("catalogs")
        .iter()
        .find(|c| c["name"] == "tcm_pieces")
        .expect("tcm_pieces");
    assert_eq!(tcm["rows"], 80);
    assert_eq!(tcm["files"][0], "rulesets/jilin/tcm_pieces.csv");
    // CSV: one header and a fixed number of fields on every line.
    let (_, csv, _) = rulec(&root, &["audit", "rulesets", "--format", "csv"]);
    assert!(csv.starts_with("ruleset,kind,name,value,in_force,status,cite,file,line\n"));
}

#[test]
fn audit_shows_uncited_values() {
    // Binzhou's deductible gains a version without a citation, and a param has none: both
    // are `uncited`, counted as such, in every row format.
    let dir = temp("uncited");
    copy_dir(&root().join("rulesets"), &dir.join("rulesets"));
    let binzhou = dir.join("rulesets/shandong/binzhou/outpatient_pooling.rulec");
    edit(
        &binzhou,
        "  from 2024-01-01 = 200 cite assumed\n",
        "  from 2024-01-01 = 200 cite assumed\n  from 2025-01-01 = 300\n\nparam pooling_floor: money = 10\n",
    );
    for (format, file) in [("human", "audit-uncited.txt"), ("csv", "audit-uncited.csv")] {
        let (code, out, err) = rulec(
            &dir,
            &["audit", "rulesets/shandong/binzhou", "--format", format],
        );
        assert_eq!(code, 0, "{err}");
        golden(file, &out);
    }
    let (_, csv, _) = rulec(
        &dir,
        &["audit", "rulesets/shandong/binzhou", "--format", "csv"],
    );
    let uncited: Vec<&str> = csv.lines().filter(|l| l.contains(",uncited,")).collect();
    assert_eq!(
        uncited,
        [
            "shandong/binzhou,param,pooling_deductible,300.00,from 2025-01-01,uncited,,rulesets/shandong/binzhou/outpatient_pooling.rulec,10",
            "shandong/binzhou,param,pooling_floor,10.00,always,uncited,,rulesets/shandong/binzhou/outpatient_pooling.rulec,12",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
