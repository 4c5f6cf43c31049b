use super::*;
use crate::controls::crosswalk::Relationship;
use crate::controls::import::ParsedRequirement;

const ALPHA: &str = include_str!("../../../../tests/fixtures/frameworks/ca-alpha.yaml");
const BETA: &str = include_str!("../../../../tests/fixtures/frameworks/ca-beta.yaml");
const MAPPING: &str =
    include_str!("../../../../tests/fixtures/frameworks/ca-mapping-alpha-beta.yaml");

fn parse(text: &str, locale: Option<&str>) -> Result<ParsedLibrary, AppError> {
    parse_library(text.as_bytes(), "lib.yaml", locale)
}

fn err(text: &str) -> String {
    match parse(text, None) {
        Ok(l) => panic!("accepted: {l:?}"),
        Err(e) => e.to_string(),
    }
}

fn req<'a>(f: &'a ParsedFramework, r: &str) -> &'a ParsedRequirement {
    f.requirements
        .iter()
        .find(|q| q.r#ref == r)
        .unwrap_or_else(|| panic!("no requirement {r}"))
}

/// A library with one framework whose nodes are `nodes` (YAML list items, 4-space indent).
fn with_nodes(nodes: &str) -> String {
    format!(
        "urn: urn:t:risk:library:t\nlocale: en\nversion: 1\nobjects:\n  framework:\n    \
         urn: urn:t:risk:framework:t\n    name: T\n    requirement_nodes:\n{nodes}"
    )
}

#[test]
fn alpha_reads_every_node_with_its_hierarchy() {
    let lib = parse(ALPHA, None).unwrap();
    assert_eq!(lib.urn, "urn:steward:risk:library:alpha-baseline");
    assert_eq!(lib.name, "Alpha Security Baseline", "trimmed");
    assert_eq!((lib.version.as_str(), lib.locale.as_str()), ("2", "en"));
    assert!(lib.mapping_sets.is_empty() && lib.ignored.is_empty());
    let [f] = lib.frameworks.as_slice() else {
        panic!("{lib:?}")
    };
    assert_eq!(f.key, "ca:alpha-baseline");
    assert_eq!(f.name, "Alpha Security Baseline");
    assert_eq!(f.version, "2");
    assert_eq!(f.description, "Test framework for Steward.");
    assert_eq!(f.format, "ciso-yaml");
    assert_eq!(f.locale, "en");
    assert_eq!(f.locales, ["en", "fr"]);
    assert_eq!(f.source_url, "", "packaged by steward-tests, not intuitem");
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    let refs: Vec<&str> = f.requirements.iter().map(|r| r.r#ref.as_str()).collect();
    assert_eq!(refs, ["gov", "gov-1", "gov-1.1", "node5", "acc", "acc-1"]);
    let assessable = f.requirements.iter().filter(|r| r.assessable).count();
    assert_eq!(assessable, 4);
    let labels: Vec<&str> = f.requirements.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Governance", "GOV-1", "GOV-1.1", "node5", "2", "2.10"]
    );

    let gov = req(f, "gov");
    assert!(!gov.assessable);
    assert_eq!((gov.depth, gov.parent_ref.as_deref()), (1, None));
    assert_eq!(
        (gov.group_ref.as_str(), gov.group_title.as_str()),
        ("gov", "Governance")
    );

    let gov1 = req(f, "gov-1");
    assert_eq!(gov1.title, "Security policy");
    assert_eq!(
        gov1.statement,
        "A security policy is approved by management \u{2014} and reviewed every year.\n\n\
         Keep the approval record."
    );
    assert_eq!(
        gov1.urn.as_deref(),
        Some("urn:steward:risk:req_node:alpha-baseline:gov-1")
    );

    let sub = req(f, "gov-1.1");
    assert_eq!(
        sub.title, "The policy names an owner.",
        "first line of the description"
    );
    assert_eq!(
        sub.statement,
        "The policy names an owner.\nThe owner signs each revision."
    );
    assert_eq!((sub.depth, sub.parent_ref.as_deref()), (3, Some("gov-1")));
    assert_eq!(
        (sub.group_ref.as_str(), sub.group_title.as_str()),
        ("gov", "Governance")
    );

    let n5 = req(f, "node5");
    assert_eq!(
        (n5.label.as_str(), n5.title.as_str()),
        ("node5", "Staff acknowledge the policy.")
    );

    let acc1 = req(f, "acc-1");
    assert_eq!(acc1.label, "2.10", "quoted text stays text");
    assert_eq!((acc1.depth, acc1.parent_ref.as_deref()), (2, Some("acc")));
    assert_eq!(
        (acc1.group_ref.as_str(), acc1.group_title.as_str()),
        ("acc", "Access")
    );
}

#[test]
fn a_language_is_chosen_when_the_library_has_it() {
    let lib = parse(ALPHA, Some("fr")).unwrap();
    assert_eq!(lib.locale, "fr");
    assert_eq!(lib.name, "Référentiel de sécurité Alpha");
    let f = &lib.frameworks[0];
    assert_eq!(
        (f.locale.as_str(), f.name.as_str()),
        ("fr", "Référentiel de sécurité Alpha")
    );
    assert_eq!(f.locales, ["en", "fr"]);
    assert_eq!(req(f, "gov").title, "Gouvernance");
    assert_eq!(req(f, "gov").label, "Gouvernance");
    assert_eq!(req(f, "gov-1").group_title, "Gouvernance");
    let gov1 = req(f, "gov-1");
    assert_eq!(gov1.title, "Politique de sécurité");
    assert_eq!(gov1.label, "GOV-1", "ref_id is never translated");
    assert_eq!(
        gov1.statement,
        "Une politique de sécurité est approuvée par la direction.\n\nKeep the approval record.",
        "an annotation without a translation keeps the default text"
    );
    assert_eq!(req(f, "acc-1").title, "Multi-factor authentication");
    assert_eq!(f.warnings.len(), 1, "{:?}", f.warnings);
    assert!(f.warnings[0].starts_with("4 requirement node(s) have no text in 'fr'"));

    // A regional variant finds the language; the default or none needs no note.
    assert_eq!(parse(ALPHA, Some("fr-CA")).unwrap().locale, "fr");
    for l in [None, Some("en"), Some(" EN "), Some("")] {
        let lib = parse(ALPHA, l).unwrap();
        assert_eq!(lib.locale, "en");
        assert!(lib.frameworks[0].warnings.is_empty(), "{l:?}");
        assert_eq!(req(&lib.frameworks[0], "gov").title, "Governance");
    }
    let lib = parse(ALPHA, Some("de")).unwrap();
    assert_eq!(lib.locale, "en");
    assert_eq!(req(&lib.frameworks[0], "gov-1").title, "Security policy");
    assert_eq!(
        lib.frameworks[0].warnings,
        ["The library has no text in 'de'; its default language ('en') is used."]
    );
}

#[test]
fn languages_match_exactly_first_then_by_region() {
    let offered: Vec<String> = ["fr-FR", "en", "pt-BR", "pt"].map(String::from).to_vec();
    assert_eq!(
        choose(Some("fr"), "fr-FR", &offered),
        None,
        "the default, regionless"
    );
    assert_eq!(choose(Some("pt"), "fr-FR", &offered).as_deref(), Some("pt"));
    assert_eq!(
        choose(Some("pt-br"), "fr-FR", &offered).as_deref(),
        Some("pt-BR")
    );
    assert_eq!(
        choose(Some("en-GB"), "fr-FR", &offered).as_deref(),
        Some("en")
    );
    assert_eq!(choose(Some("de"), "fr-FR", &offered), None);
    let lib = parse(&BETA.replace("locale: fr", "locale: fr-FR"), Some("fr")).unwrap();
    assert_eq!(lib.locale, "fr-FR");
    assert!(lib.frameworks[0].warnings.is_empty());
}

#[test]
fn beta_top_level_requirements_group_nothing() {
    let lib = parse(BETA, None).unwrap();
    let f = &lib.frameworks[0];
    assert_eq!(
        (f.key.as_str(), f.version.as_str()),
        ("ca:beta-controls", "1")
    );
    assert_eq!(
        (f.locale.as_str(), f.locales.as_slice()),
        ("fr", &["fr".to_string()][..])
    );
    assert_eq!(f.requirements.len(), 3);
    for r in &f.requirements {
        assert!(r.assessable && r.depth == 1 && r.parent_ref.is_none());
        assert_eq!((r.group_ref.as_str(), r.group_title.as_str()), ("", ""));
    }
    assert_eq!(req(f, "b3").label, "B3");
    assert_eq!(req(f, "b3").title, "Authentification forte");
}

#[test]
fn mapping_library_gives_both_sets() {
    let bytes = MAPPING.as_bytes();
    assert!(is_library(bytes));
    let lib = parse(MAPPING, None).unwrap();
    assert!(lib.frameworks.is_empty());
    let [ab, ba] = lib.mapping_sets.as_slice() else {
        panic!("{lib:?}")
    };
    assert_eq!(ab.key, "urn:steward:risk:req_mapping_set:alpha-to-beta");
    assert_eq!(ab.name, "Alpha -> Beta");
    assert_eq!(
        (ab.source_framework.as_str(), ab.target_framework.as_str()),
        ("ca:alpha-baseline", "ca:beta-controls")
    );
    assert_eq!(ab.links.len(), 4);
    let l = &ab.links[0];
    assert_eq!(
        (l.line, l.source.as_str(), l.target.as_str(), l.relationship),
        (1, "gov-1", "b1", Relationship::Equal)
    );
    assert_eq!((l.rationale.as_str(), l.strength), ("semantic", Some(10)));
    assert_eq!(
        (
            ab.links[1].source.as_str(),
            ab.links[1].relationship,
            ab.links[1].strength
        ),
        ("gov-1.1", Relationship::Subset, None)
    );
    assert_eq!(ab.links[2].annotation, "Beta also covers service accounts.");
    assert_eq!(
        ab.links[3].target, "b9",
        "unknown targets are the importer's to report"
    );
    assert_eq!(ba.source_framework, "ca:beta-controls");
    assert_eq!(ba.links[1].relationship, Relationship::Superset);
}

#[test]
fn singular_and_plural_keys_and_ignored_kinds() {
    let fw = |name: &str| {
        format!(
            "    - urn: urn:t:risk:framework:{name}\n      name: {name}\n      requirement_nodes:\n      \
             - urn: urn:t:risk:req_node:{name}:a\n        assessable: true\n        name: A\n"
        )
    };
    let text = format!(
        "urn: urn:t:risk:library:t\nlocale: en\nversion: '7'\nobjects:\n  risk_matrix:\n    urn: x\n  \
         framework:\n    urn: urn:t:risk:framework:ignored\n  frameworks:\n{}{}  threats: []\n  \
         requirement_mapping_set:\n    urn: urn:t:risk:req_mapping_set:one\n    \
         source_framework_urn: urn:t:risk:framework:one\n    target_framework_urn: urn:t:risk:framework:two\n    \
         requirement_mappings:\n    - source_requirement_urn: urn:t:risk:req_node:one:a\n      \
         target_requirement_urn: urn:t:risk:req_node:two:a\n      relationship: Not Related\n      \
         strength_of_relationship: 90\n",
        fw("one"),
        fw("two")
    );
    let lib = parse(&text, None).unwrap();
    assert_eq!(lib.version, "7", "a quoted version");
    let keys: Vec<&str> = lib.frameworks.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["ca:one", "ca:two"], "the plural wins");
    assert_eq!(lib.ignored, ["risk_matrix", "framework", "threats"]);
    let s = &lib.mapping_sets[0];
    assert_eq!(s.name, s.key, "no name: the urn");
    assert_eq!(
        (s.links[0].relationship, s.links[0].strength),
        (Relationship::NotRelated, Some(90)),
        "strength kept as given"
    );
}

#[test]
fn scalars_keep_their_source_text() {
    let text = with_nodes(
        "    - urn: URN:T:RISK:REQ_NODE:T:One\n      assessable: yes\n      ref_id: 1.10\n      \
         reference_controls: [urn:t:risk:function:doc:A.5.1, 'P-2', ~]\n    \
         - urn: urn:t:risk:req_node:t:two\n      assessable: true\n      ref_id: NO\n      \
         name: 2026-05-01\n      description: null\n    \
         - urn: urn:t:risk:req_node:t:empty\n      assessable: false\n",
    )
    .replace("version: 1", "version: 12\npublication_date: 2026-05-01");
    let lib = parse(&text, None).unwrap();
    assert_eq!(lib.version, "12");
    let f = &lib.frameworks[0];
    assert_eq!(f.requirements.len(), 2, "the empty heading is left out");
    let one = &f.requirements[0];
    assert_eq!((one.r#ref.as_str(), one.label.as_str()), ("one", "1.10"));
    assert_eq!(one.title, "1.10");
    assert!(one.assessable);
    assert_eq!(one.reference_controls, ["a.5.1", "P-2"]);
    let two = &f.requirements[1];
    assert_eq!(
        (two.label.as_str(), two.title.as_str()),
        ("NO", "2026-05-01")
    );
    assert_eq!(two.statement, "");
}

#[test]
fn long_descriptions_make_short_titles_and_headings_with_children_stay() {
    let long = "word ".repeat(40);
    let text = with_nodes(&format!(
        "    - urn: urn:t:risk:req_node:t:h\n      assessable: false\n    \
         - urn: urn:t:risk:req_node:t:c\n      assessable: true\n      parent_urn: urn:t:risk:req_node:t:h\n      \
         description: \"\\n{long}\\nsecond line\"\n"
    ));
    let f = &parse(&text, None).unwrap().frameworks[0];
    assert_eq!(
        f.requirements.len(),
        2,
        "an empty heading with children is kept"
    );
    let c = &f.requirements[1];
    assert_eq!(c.title.chars().count(), 120);
    assert!(c.title.ends_with('…'));
    assert_eq!(
        (c.depth, c.group_ref.as_str(), c.group_title.as_str()),
        (2, "h", "h")
    );
}

#[test]
fn the_intuitem_packager_links_its_home() {
    let text = ALPHA.replace("packager: steward-tests", "packager: intuitem");
    let f = &parse(&text, None).unwrap().frameworks[0];
    assert!(f.source_url.ends_with("/backend/library/libraries"));
}

#[test]
fn bad_hierarchies_are_named() {
    let node = |tail: &str, parent: Option<&str>| {
        let p = parent.map_or(String::new(), |p| {
            format!("      parent_urn: urn:t:risk:req_node:t:{p}\n")
        });
        format!(
            "    - urn: urn:t:risk:req_node:t:{tail}\n      assessable: true\n      name: N\n{p}"
        )
    };
    let dup = err(&with_nodes(&(node("a", None) + &node("A", None))));
    assert!(
        dup.contains("node 2 ('urn:t:risk:req_node:t:a', line 12): duplicate urn"),
        "{dup}"
    );
    let missing = err(&with_nodes(&(node("a", None) + &node("b", Some("zz")))));
    assert!(
        missing.contains("parent_urn 'urn:t:risk:req_node:t:zz' is not a node of this framework"),
        "{missing}"
    );
    let later = err(&with_nodes(&(node("b", Some("a")) + &node("a", None))));
    assert!(
        later.contains("is listed after the node; parents come first"),
        "{later}"
    );
    let own = err(&with_nodes(&node("a", Some("a"))));
    assert!(own.contains("makes a cycle"), "{own}");
    let cycle = err(&with_nodes(&(node("a", Some("b")) + &node("b", Some("a")))));
    assert!(
        cycle.contains("node 1") && cycle.contains("makes a cycle"),
        "{cycle}"
    );

    let chain: String = (0..17)
        .map(|i| {
            node(
                &format!("n{i}"),
                (i > 0).then(|| format!("n{}", i - 1)).as_deref(),
            )
        })
        .collect();
    let deep = err(&with_nodes(&chain));
    assert!(
        deep.contains("node 17") && deep.contains("depth 17 is outside 1 to 16"),
        "{deep}"
    );
    let zero = err(&with_nodes(
        "    - urn: urn:t:risk:req_node:t:a\n      depth: 0\n",
    ));
    assert!(zero.contains("depth 0 is outside"), "{zero}");
}

#[test]
fn bad_fields_are_collected_and_named() {
    let e = err(&with_nodes(
        "    - just text\n    - urn: urn:t:risk:req_node:t:b\n      name: [x]\n      depth: two\n      \
         assessable: maybe\n    - name: no urn\n",
    ));
    assert!(
        e.starts_with("lib.yaml: 5 problem(s); nothing was imported."),
        "{e}"
    );
    for part in [
        "framework 'urn:t:risk:framework:t', node 1 (line 9): text, not a mapping",
        "node 2 ('urn:t:risk:req_node:t:b', line 10): `name` (line 11) is a list, not text",
        "`depth` must be a whole number, not 'two'",
        "`assessable` must be true or false, not 'maybe'",
        "node 3 (line 14): no `urn`",
    ] {
        assert!(e.contains(part), "{part} in {e}");
    }
    let many: String = (0..30)
        .map(|i| format!("    - urn: urn:t:risk:req_node:t:{i}\n      depth: x\n"))
        .collect();
    let e = err(&with_nodes(&many));
    assert!(
        e.starts_with("lib.yaml: 30 problem(s)") && e.ends_with("; and 10 more"),
        "{e}"
    );
}

#[test]
fn bad_libraries_are_refused_with_named_errors() {
    let cases: &[(&str, &str)] = &[
        ("urn: x\nversion: 1\n", "no `objects`"),
        (
            "urn: x\nversion: 1\nobjects: [1]\n",
            "`objects` is a list, not a mapping",
        ),
        (
            "urn: x\nversion: 1\nobjects:\n  risk_matrix: {}\n",
            "not a framework or mapping library",
        ),
        (
            "version: 1\nobjects: {framework: {}}\n",
            "the library has no `urn`",
        ),
        (
            "urn: x\nobjects: {framework: {}}\n",
            "the library has no `version`",
        ),
        (
            "urn: x\nversion: 1.5\nobjects: {framework: {}}\n",
            "`version` (line 2) must be a whole number of 0 or more, not '1.5'",
        ),
        (
            "urn: x\nversion: -1\nobjects: {framework: {}}\n",
            "whole number of 0 or more, not '-1'",
        ),
        (
            "urn: x\nversion: 1\nobjects: {framework: {urn: f}}\n",
            "no requirement nodes",
        ),
        ("- a\n- b\n", "the YAML is a list, not a mapping"),
        ("", "the YAML is nothing"),
        (
            "urn: [unclosed\nobjects: {}\n",
            "not a readable YAML file (line",
        ),
        ("a: 1\na: 2\n", "line 2: the key 'a' appears twice"),
        ("a: 1\n---\nb: 2\n", "more than one YAML document"),
        ("{\"urn\": 1, \"objects\": \"x\"}", "`objects` is text"),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.starts_with("lib.yaml: "), "{e}");
        assert!(e.contains(want), "{want:?} in {e:?}");
    }
    let e = parse_library(b"urn: \xFF\xFE\n", "x.yaml", None).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    let e = parse_library(&[0u8; 300], "x.yaml", None).unwrap_err();
    assert!(matches!(e, AppError::Invalid(_)), "{e}");
    let big = vec![b'#'; MAX_BYTES + 1];
    assert!(matches!(
        parse_library(&big, "x.yaml", None),
        Err(AppError::TooLarge(_))
    ));
}

#[test]
fn yaml_bombs_and_aliases_are_refused() {
    let laughs =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
                  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n";
    assert!(err(laughs).contains("line 2: aliases (`*name`) are not accepted"));
    // An alias where a field is expected: refused too, even a single one.
    let one = ALPHA
        .replace("name: Governance", "name: &g Governance")
        .replace("name: Access", "name: *g");
    let e = err(&one);
    assert!(e.contains("aliases"), "{e}");
    let deep = |n: usize| format!("a: {}{}", "[".repeat(n), "]".repeat(n));
    let e = err(&deep(40));
    assert!(e.contains("nested more than 32 levels deep"), "{e}");
    // The scanner's own bound (255 flow levels) speaks first here.
    let e = err(&deep(100_000));
    assert!(e.contains("recursion limit exceeded"), "{e}");
    let block: String = (0..40).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(err(&block).contains("nested more than 32 levels deep"));
    let wide = format!("a: [{}]", "1,".repeat(yaml::MAX_NODES));
    assert!(err(&wide).contains("more than 300000 YAML nodes"));
    let nodes: String = (0..=MAX_REQUIREMENTS)
        .map(|i| format!("    - {{urn: 'urn:t:risk:req_node:t:{i}'}}\n"))
        .collect();
    assert!(err(&with_nodes(&nodes)).contains("more than 20000 requirement nodes"));
}

#[test]
fn mapping_sets_name_their_bad_mappings() {
    let bad = MAPPING.replacen("relationship: subset", "relationship: related", 1);
    let e = err(&bad);
    assert!(
        e.contains(
            "mapping set 'urn:steward:risk:req_mapping_set:alpha-to-beta', mapping 2 (line 27): \
             relationship 'related' is not one of equal, subset, superset, intersect, not_related"
        ),
        "{e}"
    );
    let e = err(&MAPPING.replacen(
        "strength_of_relationship: 10",
        "strength_of_relationship: high",
        1,
    ));
    assert!(
        e.contains("mapping 1 (line 22): `strength_of_relationship` must be a whole number"),
        "{e}"
    );
    let e = err(&MAPPING.replacen(
        "    source_framework_urn: urn:steward:risk:framework:alpha-baseline\n",
        "",
        1,
    ));
    assert!(
        e.contains("requirement_mapping_sets 1 (line 15): no `source_framework_urn`"),
        "{e}"
    );
    // The same pair twice is one link.
    let twice = MAPPING.replacen(
        "target_requirement_urn: urn:steward:risk:req_node:beta-controls:b2",
        "target_requirement_urn: urn:steward:risk:req_node:beta-controls:b1",
        1,
    );
    let twice = twice.replacen("alpha-baseline:gov-1.1", "alpha-baseline:gov-1", 1);
    assert_eq!(parse(&twice, None).unwrap().mapping_sets[0].links.len(), 3);
}

#[test]
fn is_library_is_cheap_and_plain() {
    for t in [ALPHA, BETA, MAPPING] {
        assert!(is_library(t.as_bytes()));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(t.as_bytes());
        assert!(is_library(&bom));
    }
    for t in [
        "{\"catalog\": {}}",
        "id,title\nurn:,objects:\n",
        "  urn: x\n  objects: {}\n",
        "",
        "\u{0}\u{1}",
    ] {
        assert!(!is_library(t.as_bytes()), "{t:?}");
    }
}
