//! A framework as a spreadsheet: any CSV (encoding, delimiter and BOM detected by `tabular`)
//! read through a mapping of Steward's fields (id, title, description, group, parent) to its
//! columns, guessed from the headers in several languages or remembered from the last file
//! with the same headers. Every bad row is named; nothing is returned when one is bad.
//! No database here.

use super::import::{slug, ParsedFramework, ParsedRequirement};
use crate::error::AppError;
use crate::tabular::read::{self as tabular, Limits, Table};
use crate::tabular::RowError;
use std::collections::{BTreeMap, HashMap};

pub const LIMITS: Limits = Limits {
    max_bytes: 16 * 1024 * 1024,
    max_rows: 20_000,
    max_columns: 200,
    file: "framework file",
    rows: "requirements",
    row: "requirement",
};
/// The longest cell read, in characters (a requirement's text may be long; an id is short).
const MAX_CELL: usize = 64 * 1024;
const MAX_ID: usize = 100;
/// Where files waiting for their mapping are kept in the spool, and the remembered mappings'
/// kind.
pub const PENDING: &str = "frameworks";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Id,
    Title,
    Description,
    Group,
    Parent,
}

use Field::*;

/// Each field: its form key and the header words that name it, in the languages requirement
/// lists come in (English, French, German, Spanish, Italian, Dutch).
#[rustfmt::skip]
const FIELDS: [(Field, &str, &[&str]); 5] = [
    (Id, "id", &["id", "ref", "ref id", "ref_id", "reference", "identifier", "control id", "requirement id", "number", "no", "nr", "n°", "numéro", "référence", "identifiant", "kennung", "nummer", "anforderung id", "referencia", "identificador", "riferimento", "codice", "code"]),
    (Title, "title", &["title", "name", "requirement", "control", "control name", "titre", "intitulé", "libellé", "exigence", "nom", "titel", "anforderung", "bezeichnung", "título", "titulo", "requisito", "titolo", "naam"]),
    (Description, "description", &["description", "statement", "text", "details", "requirement text", "control text", "descriptif", "énoncé", "texte", "beschreibung", "anforderungstext", "descripción", "descripcion", "descrizione", "omschrijving"]),
    (Group, "group", &["group", "family", "domain", "category", "section", "chapter", "theme", "groupe", "famille", "domaine", "catégorie", "chapitre", "thème", "gruppe", "bereich", "kategorie", "kapitel", "grupo", "dominio", "categoría", "gruppo", "categoria", "groep"]),
    (Parent, "parent", &["parent", "parent id", "parent ref", "parent_id", "parent requirement", "parent control", "parent_ref", "parent_urn", "parent urn", "parent", "rattachement", "übergeordnet", "padre"]),
];

impl Field {
    pub const ALL: [Field; 5] = [Id, Title, Description, Group, Parent];

    pub fn as_str(self) -> &'static str {
        FIELDS[self as usize].1
    }

    fn synonyms(self) -> &'static [&'static str] {
        FIELDS[self as usize].2
    }

    pub fn label(self) -> String {
        match self {
            Id => "Id (required)".into(),
            Title => "Title (required)".into(),
            Description => "Description".into(),
            Group => "Group".into(),
            Parent => "Parent id".into(),
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Field → the header of the column it is read from.
pub type Mapping = BTreeMap<Field, String>;

/// The mapping guessed from the header row.
pub fn guess(headers: &[String]) -> Mapping {
    tabular::guess(headers, &Field::ALL, Field::synonyms)
}

/// Reads the table into a framework named `name`: ids unique (case-insensitively), titles
/// present, parents named in the file and no circle among them. A requirement's depth follows
/// its parents; its group is the column when mapped, else its top ancestor's title.
pub fn read(
    t: &Table,
    mapping: &Mapping,
    name: &str,
    version: &str,
) -> Result<ParsedFramework, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("The framework needs a name."));
    }
    for f in [Id, Title] {
        if !mapping.contains_key(&f) {
            return Err(AppError::invalid(format!(
                "Map a column to {}: the file's columns are {}.",
                f.as_str(),
                t.rows[0].join(", ")
            )));
        }
    }
    let col = tabular::columns(&t.rows[0], mapping, Field::as_str)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    let mut errors: Vec<RowError> = Vec::new();
    let mut reqs: Vec<ParsedRequirement> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (row, &line) in t.rows.iter().zip(&t.numbers).skip(1) {
        let cell = |f: Field| {
            col.get(&f)
                .and_then(|&i| row.get(i))
                .map(|s| s.trim())
                .unwrap_or("")
        };
        let too_long = Field::ALL
            .into_iter()
            .find(|f| cell(*f).chars().count() > MAX_CELL);
        if let Some(f) = too_long {
            errors.push(RowError::new(
                line,
                f.as_str(),
                format!("longer than {MAX_CELL} characters"),
            ));
            continue;
        }
        let id = cell(Id);
        if id.is_empty() {
            errors.push(RowError::new(line, "id", "empty"));
            continue;
        }
        if id.chars().count() > MAX_ID || id.chars().any(char::is_control) {
            errors.push(RowError::new(
                line,
                "id",
                format!("must be at most {MAX_ID} printable characters"),
            ));
            continue;
        }
        if cell(Title).is_empty() {
            errors.push(RowError::new(line, "title", format!("empty (id '{id}')")));
            continue;
        }
        if let Some(first) = seen.insert(id.to_lowercase(), line) {
            errors.push(RowError::new(
                line,
                "id",
                format!("'{id}' already used on line {first}"),
            ));
            continue;
        }
        let group = cell(Group).to_string();
        let parent = cell(Parent);
        reqs.push(ParsedRequirement {
            r#ref: id.to_string(),
            label: id.to_string(),
            parent_ref: (!parent.is_empty()).then(|| parent.to_string()),
            group_ref: slug(&group),
            group_title: group,
            title: cell(Title).to_string(),
            statement: cell(Description).to_string(),
            depth: 1,
            assessable: true,
            ..Default::default()
        });
    }
    if errors.is_empty() {
        link_parents(&mut reqs, &seen, &mut errors);
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        let more = errors.len().saturating_sub(20);
        let mut msg: Vec<String> = errors.iter().take(20).map(ToString::to_string).collect();
        if more > 0 {
            msg.push(format!("and {more} more"));
        }
        return Err(AppError::invalid(format!(
            "The file has {} bad row(s); nothing was imported. {}",
            errors.len(),
            msg.join("; ")
        )));
    }
    if reqs.is_empty() {
        return Err(AppError::invalid("The file has a header but no rows."));
    }
    Ok(ParsedFramework {
        key: slug(name),
        name: name.to_string(),
        version: if version.trim().is_empty() {
            "1"
        } else {
            version.trim()
        }
        .to_string(),
        format: "csv",
        requirements: reqs,
        ..Default::default()
    })
}

/// Parents by id (as written, any case), depth from the chain, a missing group from the top
/// ancestor; an unknown parent or a circle is an error on the child's row.
fn link_parents(
    reqs: &mut [ParsedRequirement],
    lines: &HashMap<String, u64>,
    errors: &mut Vec<RowError>,
) {
    let index: HashMap<String, usize> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.r#ref.to_lowercase(), i))
        .collect();
    let line_of = |r: &ParsedRequirement| lines.get(&r.r#ref.to_lowercase()).copied().unwrap_or(0);
    for i in 0..reqs.len() {
        let Some(p) = reqs[i].parent_ref.clone() else {
            continue;
        };
        let Some(&pi) = index.get(&p.to_lowercase()) else {
            errors.push(RowError::new(
                line_of(&reqs[i]),
                "parent",
                format!("no requirement has the id '{p}'"),
            ));
            continue;
        };
        // Written as the parent's id is written, so a mapping reads it back.
        reqs[i].parent_ref = Some(reqs[pi].r#ref.clone());
        let (mut at, mut depth) = (pi, 2);
        while let Some(up) = reqs[at]
            .parent_ref
            .as_ref()
            .and_then(|p| index.get(&p.to_lowercase()))
        {
            if *up == i || depth > reqs.len() {
                errors.push(RowError::new(
                    line_of(&reqs[i]),
                    "parent",
                    "the parents form a circle",
                ));
                break;
            }
            at = *up;
            depth += 1;
        }
        reqs[i].depth = depth as i64;
        if reqs[i].group_title.is_empty() {
            reqs[i].group_title = reqs[at].group_title.clone();
            if reqs[i].group_title.is_empty() {
                reqs[i].group_title = reqs[at].title.clone();
            }
            reqs[i].group_ref = slug(&reqs[i].group_title);
        }
    }
}

/// A whole file read with the guessed mapping (the command line has no mapping step).
pub fn read_guessed(bytes: &[u8], name: &str, version: &str) -> Result<ParsedFramework, AppError> {
    let t = tabular::read(bytes, &LIMITS)?;
    read(&t, &guess(&t.rows[0]), name, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[u8]) -> Result<ParsedFramework, AppError> {
        read_guessed(text, "Test", "")
    }

    #[test]
    fn a_french_semicolon_file_with_a_bom_maps_itself() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            "id;titre;description;groupe\n\
             ORG-1;Politique de sécurité;\"La direction approuve; revue chaque année.\";Organisation\n\
             TECH-1;Sauvegardes;\"Testées\ndeux fois par an.\";Technique\n"
                .as_bytes(),
        );
        let f = parsed(&bytes).unwrap();
        assert_eq!(f.requirements.len(), 2);
        let r = &f.requirements[0];
        assert_eq!(
            (r.r#ref.as_str(), r.title.as_str()),
            ("ORG-1", "Politique de sécurité")
        );
        assert_eq!(r.statement, "La direction approuve; revue chaque année.");
        assert_eq!(
            (r.group_ref.as_str(), r.group_title.as_str()),
            ("organisation", "Organisation")
        );
        assert_eq!(f.requirements[1].statement, "Testées\ndeux fois par an.");
        assert_eq!(f.version, "1");
    }

    #[test]
    fn parents_give_depth_and_group_and_bad_rows_are_named() {
        let f = parsed(b"ref,name,parent\nA,Top,\nA.1,Child,a\nA.1.1,Grandchild,A.1\n").unwrap();
        let depths: Vec<i64> = f.requirements.iter().map(|r| r.depth).collect();
        assert_eq!(depths, vec![1, 2, 3]);
        assert_eq!(f.requirements[1].parent_ref.as_deref(), Some("A"));
        assert_eq!(f.requirements[2].group_title, "Top");
        let e = parsed(b"id,title,parent\nA,x,B\nB,y,A\nC,,\nA,z,\nD,w,nope\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Line 4, title: empty (id 'C')"), "{e}");
        assert!(e.contains("Line 5, id: 'A' already used on line 2"), "{e}");
        let e = parsed(b"id,title,parent\nA,x,B\nB,y,A\nD,w,nope\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Line 2, parent: the parents form a circle"),
            "{e}"
        );
        assert!(
            e.contains("Line 4, parent: no requirement has the id 'nope'"),
            "{e}"
        );
        let e = parsed(b"code,text\nA,x\n").unwrap_err().to_string();
        assert!(e.contains("Map a column to title"), "{e}");
    }
}
