use super::select::glob;
use super::*;
use serde_json::json;

/// The research notes' tiny catalog (§6.6): two families, ac-2 with one enhancement.
const TINY_CATALOG: &str = r#"{"catalog": {"uuid": "11111111-1111-4111-8111-111111111111",
  "metadata": {"title": "Tiny Catalog", "last-modified": "2026-06-01T00:00:00Z", "version": "1.0", "oscal-version": "1.1.2"},
  "groups": [
    {"id": "ac", "class": "family", "title": "Access",
     "controls": [
       {"id": "ac-1", "title": "Access policy",
        "params": [{"id": "ac-1_prm_1", "label": "frequency"}],
        "props": [{"name": "label", "value": "AC-1"}],
        "parts": [{"id": "ac-1_smt", "name": "statement",
                   "prose": "Review the access policy {{ insert: param, ac-1_prm_1 }}."}]},
       {"id": "ac-2", "title": "Accounts",
        "props": [{"name": "label", "value": "AC-2"}],
        "parts": [{"id": "ac-2_smt", "name": "statement", "prose": "Manage accounts."}],
        "controls": [
          {"id": "ac-2.1", "title": "Automated account management",
           "props": [{"name": "label", "value": "AC-2(1)"}],
           "parts": [{"id": "ac-2.1_smt", "name": "statement", "prose": "Automate account management."}]}]}]},
    {"id": "au", "class": "family", "title": "Audit",
     "controls": [
       {"id": "au-1", "title": "Audit policy",
        "parts": [{"id": "au-1_smt", "name": "statement", "prose": "Have an audit policy."}]},
       {"id": "au-2", "title": "Event logging",
        "params": [{"id": "au-2_prm_1", "label": "events"}],
        "parts": [{"id": "au-2_smt", "name": "statement",
                   "prose": "Log {{ insert: param, au-2_prm_1 }}."}]}]}]}}"#;

/// The notes' tiny profile: imports the catalog through a back-matter resource, excludes
/// au-1, sets two parameters, adds an item to ac-2's statement and alters au-1 (not selected).
fn tiny_profile() -> Value {
    json!({"profile": {"uuid": "22222222-2222-4222-8222-222222222222",
      "metadata": {"title": "Tiny Baseline", "last-modified": "2026-06-01T00:00:00Z", "version": "1.0", "oscal-version": "1.1.2"},
      "imports": [{
        "href": "#33333333-3333-4333-8333-333333333333",
        "include-controls": [
          {"with-ids": ["ac-1", "au-1", "au-2"]},
          {"with-child-controls": "yes", "with-ids": ["ac-2"]}],
        "exclude-controls": [{"with-ids": ["au-1"]}]}],
      "merge": {"as-is": true},
      "modify": {
        "set-parameters": [
          {"param-id": "ac-1_prm_1", "values": ["every year"]},
          {"param-id": "au-2_prm_1", "label": "security events",
           "constraints": [{"description": "at least logons and privilege use"}]}],
        "alters": [
          {"control-id": "ac-2",
           "adds": [{"position": "ending", "by-id": "ac-2_smt",
                     "parts": [{"id": "ac-2_tiny", "name": "item",
                                "prose": "Tiny addition: disable unused accounts after 30 days."}]}]},
          {"control-id": "au-1",
           "adds": [{"position": "ending", "parts": [{"id": "au-1_x", "name": "item", "prose": "ignored"}]}]}]},
      "back-matter": {"resources": [
        {"uuid": "33333333-3333-4333-8333-333333333333", "title": "Tiny Catalog",
         "rlinks": [{"href": "tiny-catalog.json", "media-type": "application/oscal+json"}]}]}}})
}

fn source(name: &str, text: &str) -> CatalogSource {
    CatalogSource {
        file_name: name.into(),
        text: text.into(),
    }
}

fn tiny() -> Vec<CatalogSource> {
    vec![source("tiny-catalog.json", TINY_CATALOG)]
}

fn resolve(profile: &Value, catalogs: &[CatalogSource]) -> Result<ParsedFramework, AppError> {
    resolve_profile(&profile.to_string(), catalogs, None)
}

fn refs(f: &ParsedFramework) -> Vec<&str> {
    f.requirements.iter().map(|r| r.r#ref.as_str()).collect()
}

fn req<'f>(f: &'f ParsedFramework, id: &str) -> &'f super::super::import::ParsedRequirement {
    f.requirements.iter().find(|r| r.r#ref == id).unwrap()
}

fn error(profile: &Value, catalogs: &[CatalogSource]) -> String {
    resolve(profile, catalogs).unwrap_err().to_string()
}

/// `modify` and `merge` of the tiny profile replaced.
fn with(mut p: Value, key: &str, v: Value) -> Value {
    p["profile"][key] = v;
    p
}

#[test]
fn the_tiny_profile_resolves_as_the_notes_expect() {
    let f = resolve(&tiny_profile(), &tiny()).unwrap();
    assert_eq!(refs(&f), ["ac-1", "ac-2", "ac-2.1", "au-2"]);
    assert_eq!(
        (
            f.name.as_str(),
            f.version.as_str(),
            f.format,
            f.key.as_str()
        ),
        ("Tiny Baseline", "1.0", "oscal-profile", "tiny-baseline")
    );
    // as-is: the families and the nesting stay.
    let groups: Vec<&str> = f
        .requirements
        .iter()
        .map(|r| r.group_ref.as_str())
        .collect();
    assert_eq!(groups, ["ac", "ac", "ac", "au"]);
    assert_eq!(req(&f, "ac-2.1").parent_ref.as_deref(), Some("ac-2"));
    assert_eq!(req(&f, "ac-2.1").label, "AC-2(1)");
    assert_eq!(
        req(&f, "ac-1").statement,
        "Review the access policy every year."
    );
    assert_eq!(
        req(&f, "au-2").statement,
        "Log [Assignment: security events; at least logons and privilege use]."
    );
    assert!(req(&f, "ac-2")
        .statement
        .ends_with("Tiny addition: disable unused accounts after 30 days."));
    assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
    assert!(f.warnings[0].contains("'au-1'"), "{:?}", f.warnings);
}

#[test]
fn without_merge_the_result_is_flat() {
    let mut p = tiny_profile();
    p["profile"].as_object_mut().unwrap().remove("merge");
    let f = resolve(&p, &tiny()).unwrap();
    assert_eq!(refs(&f), ["ac-1", "ac-2", "ac-2.1", "au-2"]);
    assert!(f
        .requirements
        .iter()
        .all(|r| r.group_ref.is_empty() && r.parent_ref.is_none() && r.depth == 1));
    let f = resolve(&with(tiny_profile(), "merge", json!({"flat": {}})), &tiny()).unwrap();
    assert!(f.requirements.iter().all(|r| r.group_ref.is_empty()));
}

#[test]
fn child_controls_come_only_when_asked_and_exclude_wins() {
    let import = |include: Value, exclude: Value| {
        with(
            tiny_profile(),
            "imports",
            json!([{"href": "tiny-catalog.json", "include-controls": include, "exclude-controls": exclude}]),
        )
    };
    let f = resolve(&import(json!([{"with-ids": ["ac-2"]}]), json!([])), &tiny()).unwrap();
    assert_eq!(refs(&f), ["ac-2"]);
    // Excluding a parent with its children takes the child its include brought.
    let f = resolve(
        &import(
            json!([{"with-ids": ["ac-1", "ac-2"], "with-child-controls": "yes"}]),
            json!([{"with-ids": ["ac-2"], "with-child-controls": "yes"}]),
        ),
        &tiny(),
    )
    .unwrap();
    assert_eq!(refs(&f), ["ac-1"]);
    // Excluding the parent alone leaves the child, attached to the family under as-is.
    let f = resolve(
        &import(
            json!([{"with-ids": ["ac-2"], "with-child-controls": "yes"}]),
            json!([{"with-ids": ["ac-2"]}]),
        ),
        &tiny(),
    )
    .unwrap();
    assert_eq!(refs(&f), ["ac-2.1"]);
    assert_eq!(req(&f, "ac-2.1").group_ref, "ac");
    assert_eq!(req(&f, "ac-2.1").parent_ref, None);
}

#[test]
fn patterns_select_and_missing_ids_warn() {
    let p = with(
        tiny_profile(),
        "imports",
        json!([{"href": "tiny-catalog.json", "include-controls": [
            {"matching": [{"pattern": "a?-1"}, {"pattern": "zz-*"}]},
            {"with-ids": ["ac-9"]}]}]),
    );
    let f = resolve(&with(p, "modify", json!({})), &tiny()).unwrap();
    assert_eq!(refs(&f), ["ac-1", "au-1"]);
    assert_eq!(f.warnings.len(), 2, "{:?}", f.warnings);
    assert!(f.warnings.iter().any(|w| w.contains("'zz-*'")));
    assert!(f.warnings.iter().any(|w| w.contains("'ac-9'")));
}

#[test]
fn imports_are_unioned_and_a_control_appears_once() {
    let p = with(
        tiny_profile(),
        "imports",
        json!([
            {"href": "tiny-catalog.json", "include-controls": [{"with-ids": ["au-2", "ac-1"]}]},
            {"href": "tiny-catalog.json", "include-controls": [{"matching": [{"pattern": "ac-*"}]}]}]),
    );
    let f = resolve(&with(p.clone(), "modify", json!({})), &tiny()).unwrap();
    assert_eq!(refs(&f), ["ac-1", "ac-2", "ac-2.1", "au-2"]);
    let mut flat = with(p, "modify", json!({}));
    flat["profile"].as_object_mut().unwrap().remove("merge");
    let f = resolve(&flat, &tiny()).unwrap();
    // Flat: each import's controls in catalog order, then the next import's.
    assert_eq!(refs(&f), ["ac-1", "au-2", "ac-2", "ac-2.1"]);
}

#[test]
fn an_import_must_select_something() {
    let p = with(
        tiny_profile(),
        "imports",
        json!([{"href": "tiny-catalog.json"}]),
    );
    assert!(error(&p, &tiny()).contains("selects nothing"));
    let all = with(
        tiny_profile(),
        "imports",
        json!([{"href": "tiny-catalog.json", "include-all": {}}]),
    );
    assert_eq!(resolve(&all, &tiny()).unwrap().requirements.len(), 5);
}

#[test]
fn set_parameters_apply_in_order_and_unknown_ones_warn() {
    let p = with(
        tiny_profile(),
        "modify",
        json!({"set-parameters": [
            {"param-id": "ac-1_prm_1", "label": "how often"},
            {"param-id": "ac-1_prm_1", "constraints": [{"description": "at least yearly"}]},
            {"param-id": "ac-1_prm_1", "constraints": [{"description": "and after incidents"}]},
            {"param-id": "au-2_prm_1", "values": ["logons", "privilege use"]},
            {"param-id": "nope_prm", "values": ["x"]}]}),
    );
    let f = resolve(&p, &tiny()).unwrap();
    assert_eq!(
        req(&f, "ac-1").statement,
        "Review the access policy [Assignment: how often; at least yearly; and after incidents]."
    );
    assert_eq!(req(&f, "au-2").statement, "Log logons, privilege use.");
    assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
    assert!(f.warnings[0].contains("'nope_prm'"));
}

#[test]
fn adds_go_where_they_are_aimed_and_removes_take_out() {
    let item = |id: &str, prose: &str| json!({"id": id, "name": "item", "prose": prose});
    let p = with(
        tiny_profile(),
        "modify",
        json!({"alters": [
            {"control-id": "ac-2", "adds": [
                {"position": "starting", "by-id": "ac-2_smt", "parts": [item("s", "First.")]},
                {"by-id": "ac-2_smt", "parts": [item("e", "Last.")]},
                {"position": "after", "by-id": "e", "parts": [item("a", "After last.")]},
                {"position": "before", "by-id": "e", "parts": [item("b", "Before last.")]},
                {"by-id": "ac-2_nowhere", "parts": [item("n", "Nowhere.")]}]},
            {"control-id": "au-2", "removes": [{"by-id": "au-2_smt"}]},
            {"control-id": "ac-1", "removes": [{"by-item-name": "param", "by-id": "ac-1_prm_1"}],
             "adds": [{"position": "starting", "params": [{"id": "ac-1_prm_1", "label": "new label"}]}]}]}),
    );
    let f = resolve(&p, &tiny()).unwrap();
    assert_eq!(
        req(&f, "ac-2").statement,
        "Manage accounts.\nFirst.\nBefore last.\nLast.\nAfter last."
    );
    assert_eq!(req(&f, "au-2").statement, "");
    assert_eq!(
        req(&f, "ac-1").statement,
        "Review the access policy [Assignment: new label]."
    );
    assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
    assert!(f.warnings[0].contains("'ac-2_nowhere'"));
}

#[test]
fn an_alter_on_a_control_not_selected_warns() {
    let f = resolve(&tiny_profile(), &tiny()).unwrap();
    assert!(f.warnings[0].contains("'au-1'") && f.warnings[0].contains("does not select"));
    assert!(!f
        .requirements
        .iter()
        .any(|r| r.statement.contains("ignored")));
}

#[test]
fn an_href_finds_its_catalog_by_file_name_or_title() {
    let by = |href: &str| {
        with(
            with(tiny_profile(), "modify", json!({})),
            "imports",
            json!([{"href": href, "include-controls": [{"with-ids": ["ac-1"]}]}]),
        )
    };
    let two = vec![
        source(
            "other.json",
            r#"{"catalog": {"metadata": {"title": "Other"}}}"#,
        ),
        source("downloads/Tiny-Catalog.JSON", TINY_CATALOG),
    ];
    for href in [
        "tiny-catalog.json",
        "../catalogs/tiny-catalog.xml",
        "https://example.org/oscal/TINY-CATALOG.json?raw=1",
    ] {
        let f = resolve(&by(href), &two).unwrap();
        assert_eq!(refs(&f), ["ac-1"], "{href}");
        assert!(f.warnings.is_empty(), "{href}: {:?}", f.warnings);
    }
    // A resource whose link names no file supplied, but whose title is the catalog's.
    let mut p = tiny_profile();
    p["profile"]["back-matter"]["resources"][0]["rlinks"][0]["href"] = json!("https://x/y.json");
    assert_eq!(resolve(&p, &two).unwrap().requirements.len(), 4);
    // Nothing matches: with one catalog it is used (and said), with two it is an error.
    let f = resolve(&by("missing.json"), &tiny()).unwrap();
    assert!(
        f.warnings[0].contains("'missing.json'") && f.warnings[0].contains("'tiny-catalog.json'")
    );
    let e = error(&by("missing.json"), &two);
    assert!(
        e.contains("'missing.json'") && e.contains("other.json"),
        "{e}"
    );
    let e = error(&by("missing.json"), &[]);
    assert!(e.contains("'missing.json'") && e.contains("none"), "{e}");
}

#[test]
fn an_unknown_resource_is_an_error() {
    let p = with(
        tiny_profile(),
        "imports",
        json!([{"href": "#unknown", "include-all": {}}]),
    );
    let e = error(&p, &tiny());
    assert!(e.contains("'#unknown'") && e.contains("back-matter"), "{e}");
}

#[test]
fn custom_merge_is_refused() {
    let p = with(tiny_profile(), "merge", json!({"custom": {"groups": []}}));
    assert!(error(&p, &tiny()).contains("custom merge is not supported"));
}

/// A profile selecting from the tiny profile: everything it selected, re-tailored.
fn outer(href: &str) -> Value {
    json!({"profile": {"uuid": "44444444-4444-4444-8444-444444444444",
      "metadata": {"title": "Outer Baseline", "version": "2.0"},
      "imports": [{"href": href, "include-all": {}, "exclude-controls": [{"with-ids": ["ac-2.1"]}]}],
      "merge": {"as-is": true},
      "modify": {"set-parameters": [{"param-id": "ac-1_prm_1", "values": ["every month"]}]}}})
}

#[test]
fn a_profile_may_import_a_profile() {
    let mut sources = tiny();
    sources.push(source("tiny-profile.json", &tiny_profile().to_string()));
    let f = resolve(&outer("tiny-profile.json"), &sources).unwrap();
    assert_eq!(refs(&f), ["ac-1", "ac-2", "au-2"]);
    assert_eq!(
        (f.name.as_str(), f.version.as_str()),
        ("Outer Baseline", "2.0")
    );
    assert_eq!(
        req(&f, "ac-1").statement,
        "Review the access policy every month."
    );
    assert!(req(&f, "ac-2").statement.ends_with("after 30 days."));
    assert_eq!(req(&f, "au-2").group_ref, "au");
    // The inner profile's warning says where it comes from.
    assert!(
        f.warnings[0].starts_with("'tiny-profile.json': "),
        "{:?}",
        f.warnings
    );
}

#[test]
fn circular_imports_are_errors() {
    // The profile imports itself.
    let mut p = tiny_profile();
    p["profile"]["back-matter"]["resources"][0]["rlinks"][0]["href"] = json!("tiny-profile.json");
    let sources = vec![source("tiny-profile.json", &p.to_string())];
    let e = error(&p, &sources);
    assert!(
        e.contains("Circular import") && e.contains("'tiny-profile.json'"),
        "{e}"
    );
    // Two profiles importing each other.
    let a = outer("b.json");
    let mut b = outer("a.json");
    b["profile"]["uuid"] = json!("55555555-5555-4555-8555-555555555555");
    let sources = vec![
        source("a.json", &a.to_string()),
        source("b.json", &b.to_string()),
    ];
    let e = error(&a, &sources);
    assert!(
        e.contains("Circular import") && e.contains("'b.json' → 'a.json'"),
        "{e}"
    );
}

#[test]
fn the_builtin_nist_catalog_can_be_selected_from() {
    let nist = std::str::from_utf8(include_bytes!(
        "../../../frameworks/nist-800-53r5-low-baseline.json"
    ))
    .unwrap();
    let p = json!({"profile": {"uuid": "66666666-6666-4666-8666-666666666666",
      "metadata": {"title": "Small NIST Baseline", "version": "5.1.1"},
      "imports": [{"href": "#77777777-7777-4777-8777-777777777777",
        "include-controls": [{"with-ids": ["ac-1"]}, {"with-ids": ["ia-2"], "with-child-controls": "yes"}]}],
      "merge": {"as-is": true},
      "modify": {"set-parameters": [{"param-id": "ac-1_prm_1", "values": ["the CISO"]}]},
      "back-matter": {"resources": [{"uuid": "77777777-7777-4777-8777-777777777777",
        "title": "NIST Special Publication 800-53 Revision 5.1.1 LOW IMPACT BASELINE",
        "rlinks": [{"href": "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.xml"}]}]}}});
    let sources = vec![
        source("tiny-catalog.json", TINY_CATALOG),
        source("nist-800-53r5-low-baseline.json", nist),
    ];
    let f = resolve(&p, &sources).unwrap();
    assert_eq!(
        refs(&f),
        ["ac-1", "ia-2", "ia-2.1", "ia-2.2", "ia-2.8", "ia-2.12"]
    );
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    assert_eq!(req(&f, "ia-2.1").label, "IA-2(1)");
    assert_eq!(req(&f, "ia-2.1").parent_ref.as_deref(), Some("ia-2"));
    assert!(req(&f, "ac-1")
        .statement
        .starts_with("a. Develop, document, and disseminate to the CISO:"));
    assert_eq!(f.key, "small-nist-baseline");
}

#[test]
fn sniffing_documents() {
    assert!(is_profile(&tiny_profile().to_string()));
    assert!(is_profile("\u{feff}{\"profile\": {}}"));
    for text in [
        "",
        "{",
        "[]",
        "{\"profile\": 1}",
        "{\"profile\": null}",
        TINY_CATALOG,
    ] {
        assert!(!is_profile(text), "{text}");
    }
    assert_eq!(
        catalog_identity(TINY_CATALOG),
        Some((
            "11111111-1111-4111-8111-111111111111".to_string(),
            "Tiny Catalog".to_string()
        ))
    );
    assert_eq!(
        catalog_identity(r#"{"catalog": {}}"#),
        Some((String::new(), String::new()))
    );
    for text in ["", "nope", "{\"profile\": {}}", "{\"catalog\": 3}"] {
        assert_eq!(catalog_identity(text), None, "{text}");
    }
}

#[test]
fn odd_documents_are_errors_not_panics() {
    let cases = [
        json!({"profile": {"metadata": {"title": "T"}}}),
        json!({"profile": {"metadata": {"title": "T"}, "imports": [{"include-all": {}}]}}),
        json!({"profile": {"metadata": {"title": "T"}, "imports": "x"}}),
        json!({"profile": {"metadata": {"title": "T"}, "imports": [{"href": 5}]}}),
        json!({"profile": {"metadata": {"title": "T"}, "imports": [
            {"href": "x.json", "include-controls": [{"with-ids": ["nothing"]}]}]}}),
        json!({"profile": []}),
        json!({"catalog": {}}),
    ];
    for p in &cases {
        assert!(resolve(p, &tiny()).is_err(), "{p}");
    }
    let catalogs = [
        "not json",
        "{}",
        r#"{"catalog": {"metadata": {"title": "C"}, "controls": [{"title": "no id"}]}}"#,
    ];
    for c in catalogs {
        let p = with(
            tiny_profile(),
            "imports",
            json!([{"href": "c.json", "include-all": {}}]),
        );
        assert!(resolve(&p, &[source("c.json", c)]).is_err(), "{c}");
    }
    // Malformed modifications are ignored or warned about, never a panic.
    let p = with(
        tiny_profile(),
        "modify",
        json!({"set-parameters": [{"values": 3}, {"param-id": "ac-1_prm_1", "props": 7, "values": "x"}],
               "alters": [{"adds": 1}, {"control-id": "ac-2", "adds": [{"by-id": "ac-2_smt", "position": "after",
                 "parts": "x", "props": [1]}], "removes": [{}, {"by-class": "none"}]}]}),
    );
    assert!(resolve(&p, &tiny()).is_ok());
}

#[test]
fn parts_do_not_nest_without_bound() {
    // Each add nests a part inside the previous one; past the bound they are refused.
    let alters: Vec<Value> = (0..80)
        .map(|i| {
            let target = if i == 0 {
                "ac-2_smt".to_string()
            } else {
                format!("p{}", i - 1)
            };
            json!({"control-id": "ac-2", "adds": [{"by-id": target,
                "parts": [{"id": format!("p{i}"), "name": "item", "prose": "x"}]}]})
        })
        .collect();
    let p = with(tiny_profile(), "modify", json!({ "alters": alters }));
    let f = resolve(&p, &tiny()).unwrap();
    assert!(!f.warnings.is_empty());
    assert!(req(&f, "ac-2").statement.lines().count() <= MAX_NESTING + 1);
}

#[test]
fn globs_and_stems() {
    let g = |p: &str, t: &str| glob(&p.chars().collect::<Vec<_>>(), t);
    assert!(g("ac-*", "ac-2.1") && g("*", "") && g("a?-1", "au-1") && g("*.1", "ac-2.1"));
    assert!(!g("ac-?", "ac-10") && !g("ac-1", "ac-12") && !g("?", ""));
    assert!(g("*a*b*c", "xxaxxbxxbxc") && !g("*a*b*c", "xxaxxbxx"));
    assert_eq!(
        stem("https://h/a/NIST_SP-800-53_rev5_catalog.xml"),
        "nist_sp-800-53_rev5_catalog"
    );
    assert_eq!(stem("C:\\x\\Tiny.Catalog.json"), "tiny.catalog");
    assert_eq!(stem(".hidden"), ".hidden");
}

#[test]
fn many_warnings_are_counted_past_a_hundred() {
    let ids: Vec<String> = (0..150).map(|i| format!("zz-{i}")).collect();
    let p = with(
        with(tiny_profile(), "modify", json!({})),
        "imports",
        json!([{"href": "tiny-catalog.json", "include-controls": [{"with-ids": ids}, {"with-ids": ["ac-1"]}]}]),
    );
    let f = resolve(&p, &tiny()).unwrap();
    assert_eq!(f.warnings.len(), MAX_WARNINGS + 1);
    assert_eq!(f.warnings.last().unwrap(), "… and 50 more warnings.");
}
