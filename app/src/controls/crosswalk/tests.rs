use super::*;

const CSV: &[u8] = include_bytes!("../../../../tests/fixtures/frameworks/crosswalk-alpha-beta.csv");

fn err(bytes: &[u8]) -> String {
    match parse_crosswalk_csv(bytes, "x.csv") {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn relationships_read_and_invert() {
    for r in Relationship::ALL {
        assert_eq!(Relationship::parse(r.as_str()), Some(r));
        assert_eq!(Relationship::parse(&r.as_str().to_uppercase()), Some(r));
        assert_eq!(r.inverse().inverse(), r);
    }
    assert_eq!(
        Relationship::parse(" Not related "),
        Some(Relationship::NotRelated)
    );
    assert_eq!(
        Relationship::parse("not-related"),
        Some(Relationship::NotRelated)
    );
    assert_eq!(Relationship::parse("related"), None);
    assert_eq!(Relationship::parse(""), None);
    assert_eq!(Relationship::Subset.inverse(), Relationship::Superset);
    assert_eq!(Relationship::Intersect.inverse(), Relationship::Intersect);
    let labels: Vec<&str> = Relationship::ALL.iter().map(|r| r.label()).collect();
    assert_eq!(
        labels,
        [
            "equal",
            "subset of",
            "superset of",
            "intersects",
            "not related"
        ]
    );
}

#[test]
fn the_fixture_is_one_set_of_three_links() {
    assert!(is_crosswalk_csv(CSV));
    let sets = parse_crosswalk_csv(CSV, "crosswalk.csv").unwrap();
    let [s] = sets.as_slice() else {
        panic!("{sets:?}")
    };
    assert_eq!(s.key, "csv:ca:alpha-baseline:ca:beta-controls");
    assert_eq!(s.name, "ca:alpha-baseline -> ca:beta-controls");
    assert_eq!(
        (s.source_framework.as_str(), s.target_framework.as_str()),
        ("ca:alpha-baseline", "ca:beta-controls")
    );
    let rows: Vec<(u64, &str, &str, Relationship)> = s
        .links
        .iter()
        .map(|l| (l.line, l.source.as_str(), l.target.as_str(), l.relationship))
        .collect();
    assert_eq!(
        rows,
        [
            (2, "gov-1", "b1", Relationship::Equal),
            (3, "GOV-1.1", "B2", Relationship::Subset),
            (4, "acc-1", "b3", Relationship::Intersect),
        ],
        "ids as written: the importer matches refs and labels"
    );
    assert!(s
        .links
        .iter()
        .all(|l| l.strength.is_none() && l.rationale.is_empty()));
}

#[test]
fn bom_semicolons_any_order_and_pairs_in_file_order() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        "Relationship;Target ID;Source-Framework;source_id;TARGET_FRAMEWORK;Strength;Annotation;rationale\n\
         equal;b1;ca:Alpha-Baseline;gov-1;ca:beta-controls;10;Même texte;semantic\n\
         subset;x-1;nist;ac-1;iso;;;\n\
         \n\
         Intersect;b3;ca:alpha-baseline;acc-1;ca:beta-controls;-3;;\n"
            .as_bytes(),
    );
    assert!(is_crosswalk_csv(&bytes));
    let sets = parse_crosswalk_csv(&bytes, "x.csv").unwrap();
    let keys: Vec<&str> = sets.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        ["csv:ca:alpha-baseline:ca:beta-controls", "csv:nist:iso"]
    );
    let a = &sets[0].links;
    assert_eq!(a.len(), 2);
    assert_eq!(
        (
            a[0].strength,
            a[0].annotation.as_str(),
            a[0].rationale.as_str()
        ),
        (Some(10), "Même texte", "semantic")
    );
    // Numbered as records (the shared reader's rule): the blank line is none.
    assert_eq!((a[1].line, a[1].strength), (4, Some(-3)));
    assert_eq!(sets[1].links[0].relationship, Relationship::Subset);
}

#[test]
fn every_bad_row_is_named_and_nothing_returned() {
    let mut text = String::from_utf8(CSV.to_vec()).unwrap();
    text.push_str("ca:alpha-baseline,acc-1,ca:beta-controls,b3,related\n");
    let e = err(text.as_bytes());
    assert_eq!(
        e,
        "x.csv: 1 bad row(s); nothing was imported. Line 5, relationship: 'related' is not one \
         of equal, subset, superset, intersect, not_related"
    );

    let long = "x".repeat(1001);
    let bad = format!(
        "source_framework,source_id,target_framework,target_id,relationship,strength\n\
         a,,b,t1,equal,\n\
         a,s2,b,t2,,1.5\n\
         a,s1,b,t1,equal,\n\
         a,S1,b,T1,subset,\n\
         a,{long},b,t3,equal,\n\
         a,s4,b\n"
    );
    let e = err(bad.as_bytes());
    for part in [
        "x.csv: 7 bad row(s)",
        "Line 2, source_id: empty",
        "Line 3, relationship: empty",
        "Line 3, strength: '1.5' is not a whole number",
        "Line 5, target_id: the same link as line 4",
        "Line 6, source_id: longer than 1000 characters",
        "Line 7, target_id: empty",
        "Line 7, relationship: empty",
    ] {
        assert!(e.contains(part), "{part} in {e}");
    }
}

#[test]
fn headers_and_bounds_are_checked() {
    let e = err(b"source_framework,source_id,target_id\na,b,c\n");
    assert!(
        e.contains("(missing: target_framework, relationship; found: source_framework, source_id, target_id)"),
        "{e}"
    );
    assert!(
        err(b"source_framework,source_id,target_framework,target_id,relationship\n")
            .contains("no links")
    );
    let big = vec![b'a'; 8 * 1024 * 1024 + 1];
    assert!(matches!(
        parse_crosswalk_csv(&big, "x.csv"),
        Err(AppError::TooLarge(_))
    ));
}

#[test]
fn crosswalk_headers_are_recognised_cheaply() {
    assert!(is_crosswalk_csv(
        b"target_id\tsource_id\trelationship\tsource_framework\ttarget_framework\r\n"
    ));
    assert!(is_crosswalk_csv(
        b"\"source_framework\",\"source_id\",\"target_framework\",\"target_id\",\"relationship\"\n"
    ));
    for t in [
        &b"id,title,description,group\n"[..],
        b"source_framework,source_id,target_framework,target_id\n",
        b"urn: x\nobjects: {}\n",
        b"",
        b"\xFF\xFE\x00",
    ] {
        assert!(!is_crosswalk_csv(t), "{t:?}");
    }
}
