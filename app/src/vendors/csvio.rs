//! The vendor register as a CSV file. Reading: any spreadsheet export (`tabular` detects the
//! encoding and delimiter and bounds the rows) through a mapping of Steward's fields to its
//! columns, guessed from the headers in several languages; each row becomes the vendor form
//! (and one contract's form) that `write.rs` checks. Writing: the export, whose headers the
//! guess maps back, with formula-safe cells. No database here.

use super::{ContractForm, VendorForm};
use crate::tabular::read::{self as tabular, Limits, Table};
use crate::tabular::RowError;
use crate::util::{csv_cell, csv_uncell};
use std::collections::{BTreeMap, HashMap};

pub const MAX_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_ROWS: usize = 10_000;
pub const MAX_COLUMNS: usize = 100;
/// The longest cell read, in characters (each field has its own, smaller bound in `write.rs`).
pub const MAX_CELL: usize = 4000;
pub const LIMITS: Limits = Limits {
    max_bytes: MAX_BYTES,
    max_rows: MAX_ROWS,
    max_columns: MAX_COLUMNS,
    file: "vendor file",
    rows: "vendors",
    row: "vendor",
};
/// Where files waiting for their mapping are kept in the spool (`tabular::pending`).
pub const PENDING: &str = "vendors";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Name,
    LegalName,
    Website,
    Category,
    Owner,
    Services,
    Countries,
    DataCategories,
    SubprocessorOf,
    DataSensitivity,
    BusinessImpact,
    TierOverride,
    OverrideReason,
    Contract,
    ContractStart,
    ContractEnd,
    AutoRenew,
    RenewalTerm,
    NoticePeriod,
    AnnualValue,
    Currency,
}

use Field::*;

/// Each field: its key (the form's `map[key]`), its export header (also its first synonym)
/// and the header words that name it, lower case, in the languages exports come in.
#[rustfmt::skip]
const FIELDS: [(Field, &str, &[&str]); 21] = [
    (Name, "name", &["name", "vendor", "vendor name", "supplier", "supplier name", "lieferant", "anbieter", "dienstleister", "fournisseur", "nom", "proveedor", "nombre"]),
    (LegalName, "legal_name", &["legal name", "legal entity", "company name", "firma", "firmenname", "rechtlicher name", "raison sociale", "razón social", "razon social"]),
    (Website, "website", &["website", "url", "web", "homepage", "webseite", "site web", "sitio web"]),
    (Category, "category", &["category", "kategorie", "catégorie", "categoría", "categoria"]),
    (Owner, "owner", &["owner", "vendor owner", "business owner", "owner email", "eigentümer", "eigentuemer", "verantwortlich", "verantwortlicher", "propriétaire", "responsable", "propietario"]),
    (Services, "services", &["services", "service", "description", "dienste", "leistungen", "dienstleistungen", "prestations", "servicios"]),
    (Countries, "countries", &["countries", "country", "locations", "data location", "länder", "land", "pays", "países", "paises"]),
    (DataCategories, "data_categories", &["data categories", "data shared", "datenkategorien", "catégories de données", "categorías de datos"]),
    (SubprocessorOf, "subprocessor_of", &["sub-processor of", "subprocessor of", "parent vendor", "unterauftragsverarbeiter von", "sous-traitant de", "subencargado de"]),
    (DataSensitivity, "data_sensitivity", &["data sensitivity", "sensitivity", "datensensibilität", "schutzbedarf", "sensibilité", "sensibilidad"]),
    (BusinessImpact, "business_impact", &["business impact", "impact", "criticality", "kritikalität", "geschäftsauswirkung", "impact métier", "impacto"]),
    (TierOverride, "tier_override", &["tier override", "override tier"]),
    (OverrideReason, "override_reason", &["override reason", "tier override reason", "begründung"]),
    (Contract, "contract", &["contract", "contract title", "vertrag", "contrat", "contrato"]),
    (ContractStart, "contract_start", &["contract start", "start date", "vertragsbeginn", "début du contrat", "inicio del contrato"]),
    (ContractEnd, "contract_end", &["contract end", "end date", "vertragsende", "fin du contrat", "fin del contrato"]),
    (AutoRenew, "auto_renew", &["auto-renew", "auto renewal", "autorenew", "automatische verlängerung", "renouvellement automatique", "renovación automática"]),
    (RenewalTerm, "renewal_term", &["renewal term", "verlängerungszeitraum", "durée de renouvellement"]),
    (NoticePeriod, "notice_period", &["notice period", "notice", "kündigungsfrist", "préavis", "preaviso"]),
    (AnnualValue, "annual_value", &["annual value", "annual cost", "contract value", "jahreswert", "jahreskosten", "valeur annuelle", "valor anual"]),
    (Currency, "currency", &["currency", "währung", "devise", "moneda"]),
];

/// The export's columns after the fields: what Steward computes (never read back).
pub const COMPUTED: [&str; 5] = [
    "Tier",
    "Review status",
    "Next review",
    "Notice deadline",
    "Spend year to date",
];

impl Field {
    pub const ALL: [Field; 21] = {
        let mut all = [Name; 21];
        let mut i = 0;
        while i < 21 {
            all[i] = FIELDS[i].0;
            i += 1;
        }
        all
    };

    fn entry(self) -> &'static (Field, &'static str, &'static [&'static str]) {
        &FIELDS[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.entry().1
    }

    fn synonyms(self) -> &'static [&'static str] {
        self.entry().2
    }

    /// The export's header: its first synonym, capitalised.
    pub fn header(self) -> String {
        let s = self.synonyms()[0];
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    pub fn label(self) -> String {
        match self {
            Name => "Name (required)".into(),
            Owner => "Owner (username or email)".into(),
            Contract => "Contract title".into(),
            f => f.header(),
        }
    }

    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Field → the header of the column it is read from.
pub type Mapping = BTreeMap<Field, String>;

/// A mapping guessed from the headers.
pub fn guess(headers: &[String]) -> Mapping {
    tabular::guess(headers, &Field::ALL, Field::synonyms)
}

/// One row of the file: its record number (the header is 1), the vendor, and its contract when
/// any contract column is filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub vendor: VendorForm,
    pub contract: Option<ContractForm>,
}

fn yes_no(line: u64, raw: &str) -> Result<Option<String>, RowError> {
    match raw.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" | "nein" | "non" => Ok(None),
        "yes" | "y" | "true" | "1" | "x" | "ja" | "oui" | "sí" | "si" => Ok(Some("on".into())),
        other => Err(RowError::new(
            line,
            AutoRenew.as_str(),
            format!("'{other}' is not yes or no"),
        )),
    }
}

/// Reads the vendors of `t` through `mapping`: bounded cells, a name on every row and never
/// twice (case-insensitive). What each field may hold is `write.rs`'s to check.
pub fn read(t: &Table, mapping: &Mapping) -> Result<Vec<Row>, RowError> {
    let Some(header) = t.rows.first() else {
        return Err(RowError::new(1, "header", "the file is empty"));
    };
    let col = tabular::columns(header, mapping, Field::as_str)?;
    if !col.contains_key(&Name) {
        return Err(RowError::new(
            1,
            "name",
            "map a column to the vendor's name",
        ));
    }
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(t.rows.len());
    for (i, row) in t.rows.iter().enumerate().skip(1) {
        let line = t.numbers.get(i).copied().unwrap_or(i as u64 + 1);
        let mut cells: BTreeMap<Field, String> = BTreeMap::new();
        for (f, c) in &col {
            let raw = row.get(*c).map(String::as_str).unwrap_or("");
            let cell = csv_uncell(raw.trim());
            if cell.chars().count() > MAX_CELL {
                return Err(RowError::new(
                    line,
                    f.as_str(),
                    format!("longer than {MAX_CELL} characters"),
                ));
            }
            cells.insert(*f, cell.to_string());
        }
        let get = |f: Field| cells.get(&f).cloned().unwrap_or_default();
        let name = get(Name);
        if name.is_empty() {
            return Err(RowError::new(line, "name", "empty"));
        }
        if let Some(first) = seen.insert(name.to_lowercase(), line) {
            return Err(RowError::new(
                line,
                "name",
                format!("'{name}' appears twice (rows {first} and {line})"),
            ));
        }
        let vendor = VendorForm {
            id: None,
            name,
            legal_name: get(LegalName),
            website: get(Website),
            category: get(Category),
            owner: get(Owner),
            services: get(Services),
            countries: get(Countries),
            data_categories: get(DataCategories),
            subprocessor_of: get(SubprocessorOf),
            data_sensitivity: get(DataSensitivity).to_lowercase(),
            business_impact: get(BusinessImpact).to_lowercase(),
            tier_override: get(TierOverride),
            override_reason: get(OverrideReason),
        };
        let contract_fields = [
            Contract,
            ContractStart,
            ContractEnd,
            AutoRenew,
            RenewalTerm,
            NoticePeriod,
            AnnualValue,
            Currency,
        ];
        let contract = if contract_fields.iter().any(|f| !get(*f).is_empty()) {
            let title = get(Contract);
            Some(ContractForm {
                vendor_id: 0,
                id: None,
                title: if title.is_empty() {
                    "Contract".into()
                } else {
                    title
                },
                start: get(ContractStart),
                end: get(ContractEnd),
                auto_renew: yes_no(line, &get(AutoRenew))?,
                renewal_term: get(RenewalTerm),
                notice_period: get(NoticePeriod),
                annual_value: get(AnnualValue),
                currency: get(Currency),
            })
        } else {
            None
        };
        out.push(Row {
            line,
            vendor,
            contract,
        });
    }
    Ok(out)
}

/// An update changes only what the file has: the fields `mapping` leaves out keep what
/// `stored` holds.
pub fn keep_unmapped(form: &mut VendorForm, stored: &VendorForm, mapping: &Mapping) {
    let fields = [
        (LegalName, &mut form.legal_name, &stored.legal_name),
        (Website, &mut form.website, &stored.website),
        (Category, &mut form.category, &stored.category),
        (Owner, &mut form.owner, &stored.owner),
        (Services, &mut form.services, &stored.services),
        (Countries, &mut form.countries, &stored.countries),
        (
            DataCategories,
            &mut form.data_categories,
            &stored.data_categories,
        ),
        (
            SubprocessorOf,
            &mut form.subprocessor_of,
            &stored.subprocessor_of,
        ),
        (
            DataSensitivity,
            &mut form.data_sensitivity,
            &stored.data_sensitivity,
        ),
        (
            BusinessImpact,
            &mut form.business_impact,
            &stored.business_impact,
        ),
        (TierOverride, &mut form.tier_override, &stored.tier_override),
        (
            OverrideReason,
            &mut form.override_reason,
            &stored.override_reason,
        ),
    ];
    for (f, to, from) in fields {
        if !mapping.contains_key(&f) {
            *to = from.clone();
        }
    }
}

/// As `keep_unmapped`, for the contract a row updates.
pub fn keep_unmapped_contract(c: &mut ContractForm, stored: &ContractForm, mapping: &Mapping) {
    let fields = [
        (ContractStart, &mut c.start, &stored.start),
        (ContractEnd, &mut c.end, &stored.end),
        (RenewalTerm, &mut c.renewal_term, &stored.renewal_term),
        (NoticePeriod, &mut c.notice_period, &stored.notice_period),
        (AnnualValue, &mut c.annual_value, &stored.annual_value),
        (Currency, &mut c.currency, &stored.currency),
    ];
    for (f, to, from) in fields {
        if !mapping.contains_key(&f) {
            *to = from.clone();
        }
    }
    if !mapping.contains_key(&AutoRenew) {
        c.auto_renew = stored.auto_renew.clone();
    }
}

/// The file's rows through `mapping` (the pure part of an import, as the fuzz target drives
/// it): decoded, split, read.
pub fn parse(bytes: &[u8], mapping: Option<&Mapping>) -> Result<Vec<Row>, String> {
    let t = tabular::read(bytes, &LIMITS).map_err(|e| e.to_string())?;
    let guessed;
    let m = match mapping {
        Some(m) => m,
        None => {
            guessed = guess(&t.rows[0]);
            &guessed
        }
    };
    read(&t, m).map_err(|e| row_error(&e))
}

/// A row's error as the import names it: "Row 3, owner: no user 'nobody'".
pub fn row_error(e: &RowError) -> String {
    format!("Row {}, {}: {}", e.line, e.field, e.why)
}

/// Every header of the export: the fields, then what is computed.
pub fn headers() -> Vec<String> {
    Field::ALL
        .iter()
        .map(|f| f.header())
        .chain(COMPUTED.iter().map(|h| h.to_string()))
        .collect()
}

/// The export: the header, then each row's cells (the fields in `Field::ALL`'s order, then
/// `COMPUTED`), every cell formula-safe.
pub fn write(rows: &[Vec<String>]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(headers())?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exports_headers_map_back_to_every_field() {
        let h = headers();
        let m = guess(&h);
        for f in Field::ALL {
            assert_eq!(m.get(&f), Some(&f.header()), "{f:?}");
        }
        assert_eq!(m.len(), Field::ALL.len(), "computed columns are not read");
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i, "FIELDS in the enum's order");
            assert_eq!(Field::parse(f.as_str()), Some(*f));
        }
    }

    #[test]
    fn an_export_reads_back_with_formulas_neutralised() {
        let mut row = vec![String::new(); Field::ALL.len() + COMPUTED.len()];
        row[Name as usize] = "=HYPERLINK(\"x\")".into();
        row[Countries as usize] = "DE,FR".into();
        row[ContractStart as usize] = "2026-01-01".into();
        row[AutoRenew as usize] = "yes".into();
        row[AnnualValue as usize] = "1200.50".into();
        row[Field::ALL.len()] = "2".into();
        let bytes = write(&[row]).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("'=HYPERLINK"), "{text}");
        let rows = parse(&bytes, None).unwrap();
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].vendor.name, "=HYPERLINK(\"x\")");
        assert_eq!(rows[0].vendor.countries, "DE,FR");
        let c = rows[0].contract.as_ref().unwrap();
        assert_eq!(
            (c.title.as_str(), c.auto_renew.as_deref()),
            ("Contract", Some("on"))
        );
        assert_eq!(c.annual_value, "1200.50");
    }

    #[test]
    fn a_german_semicolon_file_with_a_bom() {
        let bytes = "\u{feff}Lieferant;Eigentümer;Länder;Schutzbedarf;Kündigungsfrist\r\nMüller GmbH;anna@example.de;de;Confidential;P3M\r\n\r\nZeta;;;;\r\n".as_bytes();
        let t = tabular::read(bytes, &LIMITS).unwrap();
        assert_eq!(
            (t.encoding, tabular::delimiter_name(t.delimiter).as_str()),
            ("UTF-8 with BOM", ";")
        );
        let m = guess(&t.rows[0]);
        assert_eq!(m[&Name], "Lieferant");
        assert_eq!(m[&Owner], "Eigentümer");
        assert_eq!(m[&Countries], "Länder");
        assert_eq!(m[&DataSensitivity], "Schutzbedarf");
        assert_eq!(m[&NoticePeriod], "Kündigungsfrist");
        let rows = read(&t, &m).unwrap();
        assert_eq!(rows[0].vendor.name, "Müller GmbH");
        assert_eq!(rows[0].vendor.data_sensitivity, "confidential");
        assert_eq!(rows[0].contract.as_ref().unwrap().notice_period, "P3M");
        assert_eq!(rows[1].line, 3, "the blank line is not a record");
        assert_eq!(rows[1].contract, None);
    }

    #[test]
    fn an_update_keeps_the_fields_the_file_does_not_map() {
        let rows = parse(b"Vendor,Category\nAcme,Hosting\n", None).unwrap();
        let mut form = rows[0].vendor.clone();
        let stored = VendorForm {
            name: "acme".into(),
            category: "Old".into(),
            owner: "mia".into(),
            countries: "DE".into(),
            ..Default::default()
        };
        let m = guess(&["Vendor".to_string(), "Category".to_string()]);
        keep_unmapped(&mut form, &stored, &m);
        assert_eq!(
            (
                form.name.as_str(),
                form.category.as_str(),
                form.owner.as_str()
            ),
            ("Acme", "Hosting", "mia")
        );
        assert_eq!(form.countries, "DE");
        let mut c = ContractForm {
            annual_value: "10".into(),
            ..Default::default()
        };
        let old = ContractForm {
            start: "2026-01-01".into(),
            auto_renew: Some("on".into()),
            annual_value: "5".into(),
            ..Default::default()
        };
        let m = guess(&["Vendor".to_string(), "Annual value".to_string()]);
        keep_unmapped_contract(&mut c, &old, &m);
        assert_eq!(
            (c.start.as_str(), c.annual_value.as_str()),
            ("2026-01-01", "10")
        );
        assert_eq!(c.auto_renew.as_deref(), Some("on"));
    }

    #[test]
    fn bad_rows_name_row_and_field() {
        let e = parse(b"name,auto renew\nA,yes\nB,perhaps\n", None).unwrap_err();
        assert_eq!(e, "Row 3, auto_renew: 'perhaps' is not yes or no");
        let e = parse(b"vendor\nAcme\nACME\n", None).unwrap_err();
        assert_eq!(e, "Row 3, name: 'ACME' appears twice (rows 2 and 3)");
        let e = parse(b"vendor,owner\n,ann\n", None).unwrap_err();
        assert_eq!(e, "Row 2, name: empty");
        let e = parse(b"owner\nann\n", None).unwrap_err();
        assert!(e.starts_with("Row 1, name: map a column"), "{e}");
        let long = format!("name,services\nA,{}\n", "x".repeat(MAX_CELL + 1));
        let e = parse(long.as_bytes(), None).unwrap_err();
        assert_eq!(
            e,
            format!("Row 2, services: longer than {MAX_CELL} characters")
        );
        let mut m = Mapping::new();
        m.insert(Name, "Vendor".into());
        let e = parse(b"name\nA\n", Some(&m)).unwrap_err();
        assert_eq!(e, "Row 1, name: no column is named 'Vendor'");
    }
}
