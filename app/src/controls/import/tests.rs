use super::*;

#[test]
fn keys_survive_a_new_version() {
    let a = r#"{"catalog":{"metadata":{"title":"Spec Revision 5.1.1 LOW","version":"5.1.1+u4"},
        "groups":[{"id":"ac","title":"Access","controls":[{"id":"ac-1","title":"Policy",
        "props":[{"name":"label","value":"AC-1"}],
        "params":[{"id":"p1","label":"frequency"},{"id":"p2","select":{"how-many":"one-or-more","choice":["x","{{ insert: param, p1 }}"]}}],
        "parts":[{"name":"statement","prose":"Review {{ insert: param, p1 }} by {{ insert: param, p2 }}."}],
        "controls":[{"id":"ac-1.1","title":"Enh","props":[{"name":"label","value":"AC-1(1)"}]}]}]}]}}"#;
    let b = a.replace("5.1.1", "5.2.0");
    let (pa, pb) = (
        parse_oscal(a, None).unwrap(),
        parse_oscal(&b, None).unwrap(),
    );
    assert_eq!(pa.key, pb.key);
    assert_ne!(pa.version, pb.version);
    assert_eq!(pa.requirements.len(), 2);
    assert_eq!(pa.requirements[1].parent_ref.as_deref(), Some("ac-1"));
    assert_eq!(pa.requirements[1].label, "AC-1(1)");
    assert_eq!(
        pa.requirements[0].statement,
        "Review [Assignment: frequency] by [Selection (one or more): x; [Assignment: frequency]]."
    );
}

/// The shipped NIST baseline, rendered field by field and hashed: the output bound must not
/// change a single byte of a real catalog (digest taken before the bound was added).
#[test]
fn nist_baseline_parses_exactly_as_before_the_bound() {
    use sha2::{Digest, Sha256};
    let (_, _, bytes) = BUILTIN[0];
    let p = parse_oscal_bytes(bytes, "nist.json", None).unwrap();
    let mut h = Sha256::new();
    for f in [&p.key, &p.name, &p.version, &p.description, p.format] {
        h.update(f.as_bytes());
        h.update([0]);
    }
    for r in &p.requirements {
        let parent = r.parent_ref.as_deref().unwrap_or("-");
        for f in [
            &r.r#ref,
            &r.label,
            parent,
            &r.group_ref,
            &r.group_title,
            &r.title,
            &r.statement,
        ] {
            h.update(f.as_bytes());
            h.update([0]);
        }
    }
    assert_eq!(p.requirements.len(), 149);
    assert_eq!(
        hex::encode(h.finalize()),
        "f29e27e06b9fc565a2ed8066f63b2d94f67f635abbc57ac3a831b406fc71101a"
    );
}

/// A catalog of one group whose controls are given as JSON text.
fn catalog(controls: &[String]) -> String {
    format!(
        r#"{{"catalog":{{"metadata":{{"title":"Bomb","version":"1"}},"groups":[{{"id":"g","title":"G","controls":[{}]}}]}}}}"#,
        controls.join(",")
    )
}

/// A control whose parameter `p0` is a selection of `n` choices, each inserting `p1`, and
/// so on down to `p{levels}`, a plain label; its statement inserts `p0` `uses` times.
fn control(id: &str, levels: usize, n: usize, leaf: &str, uses: usize) -> String {
    let mut params: Vec<String> = (0..levels)
        .map(|k| {
            let choice = format!("\"{{{{ insert: param, p{} }}}}\"", k + 1);
            format!(
                r#"{{"id":"p{k}","select":{{"choice":[{}]}}}}"#,
                vec![choice; n].join(",")
            )
        })
        .collect();
    params.push(format!(r#"{{"id":"p{levels}","label":"{leaf}"}}"#));
    format!(
        r#"{{"id":"{id}","title":"T","params":[{}],"parts":[{{"name":"statement","prose":"Do {}."}}]}}"#,
        params.join(","),
        "{{ insert: param, p0 }} ".repeat(uses)
    )
}

fn refused_quickly(text: &str) -> String {
    let started = std::time::Instant::now();
    let err = parse_oscal_bytes(text.as_bytes(), "bomb.json", None).unwrap_err();
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    err.to_string()
}

/// ~15 KB whose first parameter expanded to about 2 GB before the bound (140 choices per
/// level, four levels).
#[test]
fn a_parameter_bomb_is_refused_quickly_naming_control_and_parameter() {
    let bomb = catalog(&[control("ctl-1", 4, 140, "x", 1)]);
    assert!((14_000..16_000).contains(&bomb.len()), "{}", bomb.len());
    let err = refused_quickly(&bomb);
    assert!(
        err.contains("OSCAL control 'ctl-1', parameter 'p0'"),
        "{err}"
    );
    assert!(err.contains("more than 64 KiB"), "{err}");
    assert!(err.contains("the file is refused"), "{err}");
}

#[test]
fn a_statement_inserting_a_large_parameter_many_times_is_refused() {
    // p0 reads as ~17 KiB, inside its bound; 70 insertions pass 1 MiB.
    let text = catalog(&[control("ctl-2", 1, 80, &"y".repeat(200), 70)]);
    let err = refused_quickly(&text);
    assert!(
        err.contains("OSCAL control 'ctl-2', parameter 'p0'"),
        "{err}"
    );
    assert!(err.contains("statement past 1 MiB"), "{err}");
    // The same control with fewer insertions imports.
    let ok = parse_oscal(&catalog(&[control("ctl-2", 1, 80, "y", 60)]), None).unwrap();
    assert!(ok.requirements[0].statement.len() > 60 * 80);
}

#[test]
fn the_whole_file_has_a_bound_too() {
    // Each statement stays under 1 MiB (~0.9 MiB), 80 of them pass 64 MiB.
    let controls: Vec<String> = (0..80)
        .map(|i| control(&format!("c-{i}"), 1, 80, &"z".repeat(200), 52))
        .collect();
    let err = refused_quickly(&catalog(&controls));
    assert!(err.contains("whole file past 64 MiB"), "{err}");
    assert!(err.contains("OSCAL control 'c-"), "{err}");
}
