//! Bulk import of leads from a file's rows: which lead field each column holds (suggested from the
//! headers, edited by the person importing), a row read as a lead through that mapping with the
//! import's attribution where the row has none, and the cells of the per-row error report made
//! safe to open in a spreadsheet.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field_error::line;
use crate::lead::NewLead;
use crate::FieldErrors;

/// A lead field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadColumn {
    FirstName,
    LastName,
    Email,
    Phone,
    CompanyName,
    JobTitle,
    Website,
    Notes,
    Source,
    Campaign,
    Medium,
}

impl LeadColumn {
    pub const ALL: [LeadColumn; 11] = [
        LeadColumn::FirstName,
        LeadColumn::LastName,
        LeadColumn::Email,
        LeadColumn::Phone,
        LeadColumn::CompanyName,
        LeadColumn::JobTitle,
        LeadColumn::Website,
        LeadColumn::Notes,
        LeadColumn::Source,
        LeadColumn::Campaign,
        LeadColumn::Medium,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadColumn::FirstName => "first_name",
            LeadColumn::LastName => "last_name",
            LeadColumn::Email => "email",
            LeadColumn::Phone => "phone",
            LeadColumn::CompanyName => "company_name",
            LeadColumn::JobTitle => "job_title",
            LeadColumn::Website => "website",
            LeadColumn::Notes => "notes",
            LeadColumn::Source => "source",
            LeadColumn::Campaign => "campaign",
            LeadColumn::Medium => "medium",
        }
    }

    /// Header words people use for this field (compared without case, spaces or punctuation),
    /// in English and the languages customers' exports come in most.
    fn names(self) -> &'static [&'static str] {
        match self {
            LeadColumn::FirstName => &["firstname", "givenname", "forename", "first", "vorname", "prenom", "nombre"],
            LeadColumn::LastName => {
                &["lastname", "surname", "familyname", "last", "nachname", "nom", "apellido", "apellidos"]
            }
            LeadColumn::Email => &["email", "emailaddress", "mail", "workemail", "businessemail", "correo"],
            LeadColumn::Phone => {
                &["phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell", "telefon", "telefono"]
            }
            LeadColumn::CompanyName => &[
                "company",
                "companyname",
                "organisation",
                "organization",
                "account",
                "accountname",
                "employer",
                "firma",
                "empresa",
            ],
            LeadColumn::JobTitle => &["jobtitle", "title", "position", "role", "designation"],
            LeadColumn::Website => &["website", "url", "web", "site", "homepage", "domain"],
            LeadColumn::Notes => &["notes", "note", "comments", "comment", "message", "description"],
            LeadColumn::Source => &["source", "leadsource", "utmsource"],
            LeadColumn::Campaign => &["campaign", "campaignname", "utmcampaign"],
            LeadColumn::Medium => &["medium", "utmmedium", "channel"],
        }
    }
}

fn normalise(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// The field each column probably holds, from its header; each field is suggested for at most one
/// column (the first that names it), and a header that names nothing is left unmapped.
pub fn suggest(headers: &[String]) -> Vec<Option<LeadColumn>> {
    let mut taken = Vec::new();
    headers
        .iter()
        .map(|h| {
            let key = normalise(h);
            let field =
                LeadColumn::ALL.into_iter().find(|f| !taken.contains(f) && f.names().contains(&key.as_str()))?;
            taken.push(field);
            Some(field)
        })
        .collect()
}

/// The attribution of an import's leads whose rows carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportAttribution {
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub medium: Option<String>,
}

/// Which field each column fills (`None`: the column is not imported), checked as a whole.
pub fn check_mapping(mapping: &[Option<LeadColumn>], attribution: &ImportAttribution) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    for (i, field) in mapping.iter().enumerate() {
        if let Some(f) = field {
            if mapping[..i].contains(&Some(*f)) {
                e.add(&format!("mapping[{i}]"), format!("{} is filled by an earlier column", f.as_str()));
            }
        }
    }
    let has = |f: LeadColumn| mapping.contains(&Some(f));
    for needed in [LeadColumn::FirstName, LeadColumn::LastName] {
        if !has(needed) {
            e.add("mapping", format!("a column must fill {}", needed.as_str()));
        }
    }
    if !has(LeadColumn::Email) && !has(LeadColumn::Phone) {
        e.add("mapping", "a column must fill email or phone, to reach the people imported");
    }
    // Every lead is attributed: by its row's own column, or else by the import's default.
    for (field, column, default) in [
        ("source", LeadColumn::Source, &attribution.source),
        ("campaign", LeadColumn::Campaign, &attribution.campaign),
        ("medium", LeadColumn::Medium, &attribution.medium),
    ] {
        let value = line(&mut e, &format!("attribution.{field}"), default.as_deref(), false, 100);
        if value.is_none() && !has(column) && e.0.iter().all(|x| x.field != format!("attribution.{field}")) {
            e.add(&format!("attribution.{field}"), "is required when no column holds it");
        }
    }
    e.into_result(())
}

/// A row's cells as a lead, through `mapping`; cells past the mapping are ignored, missing cells
/// are empty. The import's attribution fills what the row leaves empty.
pub fn row_lead(mapping: &[Option<LeadColumn>], cells: &[String], attribution: &ImportAttribution) -> NewLead {
    let mut lead = NewLead::default();
    for (field, cell) in mapping.iter().zip(cells) {
        let Some(field) = field else { continue };
        let value = Some(cell.trim().to_string()).filter(|v| !v.is_empty());
        let slot = match field {
            LeadColumn::FirstName => &mut lead.first_name,
            LeadColumn::LastName => &mut lead.last_name,
            LeadColumn::Email => &mut lead.email,
            LeadColumn::Phone => &mut lead.phone,
            LeadColumn::CompanyName => &mut lead.company_name,
            LeadColumn::JobTitle => &mut lead.job_title,
            LeadColumn::Website => &mut lead.website,
            LeadColumn::Notes => &mut lead.notes,
            LeadColumn::Source => &mut lead.source,
            LeadColumn::Campaign => &mut lead.campaign,
            LeadColumn::Medium => &mut lead.medium,
        };
        *slot = value;
    }
    lead.source = lead.source.or_else(|| attribution.source.clone());
    lead.campaign = lead.campaign.or_else(|| attribution.campaign.clone());
    lead.medium = lead.medium.or_else(|| attribution.medium.clone());
    lead
}

/// A cell of the error report as a spreadsheet may show it but never run it: text that a
/// spreadsheet would read as a formula (`=`, `+`, `-`, `@`, or their full-width forms, first — after
/// any spaces or invisible characters, which spreadsheets skip — or a tab or a carriage return
/// first) is prefixed with `'`, which spreadsheets show as text.
pub fn report_cell(value: &str) -> String {
    let first_seen = value.chars().find(|c| !(c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}')));
    let runs = matches!(value.chars().next(), Some('\t' | '\r'))
        || matches!(first_seen, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠'));
    if runs {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// What kind of file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Csv,
    Xlsx,
}

impl ImportFormat {
    /// The format a file's name says (`.csv` or `.txt` text, `.xlsx` workbooks).
    pub fn of_name(name: &str) -> Option<ImportFormat> {
        let lower = name.trim().to_ascii_lowercase();
        let (_, ext) = lower.rsplit_once('.')?;
        match ext {
            "csv" | "txt" => Some(ImportFormat::Csv),
            "xlsx" => Some(ImportFormat::Xlsx),
            _ => None,
        }
    }

    /// The largest file taken: a CSV is read as a stream from where the last leg stopped (a
    /// million rows of a CRM export fit well within it); a workbook is unzipped whole, with its
    /// shared strings in memory, by every leg and by the preview, inside a 10 s function — a few
    /// tens of thousands of rows. Bigger lists are saved as CSV.
    pub fn max_bytes(self) -> u64 {
        match self {
            ImportFormat::Csv => 512 * 1024 * 1024,
            ImportFormat::Xlsx => 5 * 1024 * 1024,
        }
    }

    pub fn max_label(self) -> &'static str {
        match self {
            ImportFormat::Csv => "512 MB",
            ImportFormat::Xlsx => "5 MB",
        }
    }

    /// Whether a file's first bytes are what its name says: a workbook is a zip archive; a CSV
    /// is UTF-8 text (a character cut at the end of `head` aside) with no NUL byte.
    pub fn check_content(self, head: &[u8]) -> Result<(), &'static str> {
        let zip = head.starts_with(b"PK\x03\x04");
        match self {
            ImportFormat::Xlsx if zip => Ok(()),
            ImportFormat::Xlsx => Err("is not an Excel workbook (.xlsx), whatever its name says"),
            ImportFormat::Csv if zip || head.contains(&0) => {
                Err("is not a CSV text file, whatever its name says (save it as CSV, or upload it as .xlsx)")
            }
            ImportFormat::Csv => match std::str::from_utf8(head) {
                Ok(_) => Ok(()),
                // A multi-byte character cut by the end of the sample is fine.
                Err(e) if e.error_len().is_none() => Ok(()),
                Err(_) => Err("is not UTF-8 text: save it as \"CSV UTF-8\""),
            },
        }
    }
}

/// The delimiter of a CSV file, from its first line: the most frequent of comma, semicolon
/// (spreadsheets in many European locales) and tab, outside quotes; comma when none appears.
pub fn delimiter(head: &[u8]) -> u8 {
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in head.iter().take_while(|&&b| b != b'\n') {
        if b == b'"' {
            quoted = !quoted;
        }
        if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(b',', |(d, _)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_suggest_their_fields_once_each() {
        let got = suggest(&headers(&[
            "First Name",
            "SURNAME",
            "E-mail",
            "Mobile",
            "Company",
            "Email",
            "Shoe size",
            "utm_source",
        ]));
        use LeadColumn::*;
        assert_eq!(
            got,
            vec![
                Some(FirstName),
                Some(LastName),
                Some(Email),
                Some(Phone),
                Some(CompanyName),
                None,
                None,
                Some(Source)
            ]
        );
    }

    #[test]
    fn a_mapping_fills_names_a_way_to_reach_people_and_attribution() {
        use LeadColumn::*;
        let full = ImportAttribution {
            source: Some("Fair".into()),
            campaign: Some("Spring".into()),
            medium: Some("list".into()),
        };
        assert!(check_mapping(&[Some(FirstName), Some(LastName), Some(Email)], &full).is_ok());
        let errors =
            check_mapping(&[Some(FirstName), Some(FirstName), None], &ImportAttribution::default()).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "mapping[1]",
                "mapping",
                "mapping",
                "attribution.source",
                "attribution.campaign",
                "attribution.medium"
            ]
        );
        let by_column = ImportAttribution { source: None, ..full.clone() };
        assert!(
            check_mapping(&[Some(FirstName), Some(LastName), Some(Phone), Some(Source)], &by_column).is_ok(),
            "the row's column attributes"
        );
    }

    #[test]
    fn a_row_takes_the_imports_attribution_where_it_has_none() {
        use LeadColumn::*;
        let mapping = [Some(FirstName), Some(LastName), Some(Email), Some(Campaign), None];
        let attribution = ImportAttribution {
            source: Some("Fair".into()),
            campaign: Some("Default".into()),
            medium: Some("list".into()),
        };
        let cells = headers(&["Ada", " Lovelace ", "ada@acme.example", "", "ignored"]);
        let lead = row_lead(&mapping, &cells, &attribution);
        assert_eq!(
            (lead.last_name.as_deref(), lead.campaign.as_deref(), lead.source.as_deref()),
            (Some("Lovelace"), Some("Default"), Some("Fair"))
        );
        let short = row_lead(&mapping, &headers(&["Ada"]), &attribution);
        assert_eq!((short.first_name.as_deref(), short.email), (Some("Ada"), None), "missing cells are empty");
        let own = row_lead(&mapping, &headers(&["A", "B", "c@d.example", "Own"]), &attribution);
        assert_eq!(own.campaign.as_deref(), Some("Own"));
    }

    #[test]
    fn report_cells_never_come_back_as_formulas() {
        assert_eq!(
            report_cell("=HYPERLINK(\"http://evil.example\",\"click\")"),
            "'=HYPERLINK(\"http://evil.example\",\"click\")"
        );
        for risky in ["+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(report_cell(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(report_cell("Ada"), "Ada");
        assert_eq!(report_cell(""), "");
    }

    #[test]
    fn a_file_is_what_its_first_bytes_say_not_its_name() {
        assert_eq!(ImportFormat::of_name("Leads 2026.CSV"), Some(ImportFormat::Csv));
        assert_eq!(ImportFormat::of_name("leads.xlsx"), Some(ImportFormat::Xlsx));
        assert_eq!(ImportFormat::of_name("leads.xls"), None);
        assert_eq!(ImportFormat::of_name("leads"), None);
        assert!(ImportFormat::Xlsx.check_content(b"PK\x03\x04rest").is_ok());
        assert!(ImportFormat::Xlsx.check_content(b"first_name,last_name").is_err());
        assert!(ImportFormat::Csv.check_content(b"PK\x03\x04rest").is_err());
        assert!(ImportFormat::Csv.check_content(b"a,b\0c").is_err());
        assert!(ImportFormat::Csv.check_content(b"name\nJos\xc3").is_ok(), "a character cut by the sample");
        assert!(ImportFormat::Csv.check_content(b"name\nJos\xe9 Garc\xeda\n").is_err(), "Latin-1");
        assert_eq!(delimiter(b"first;last;\"a,b,c\"\n1,2,3,4"), b';');
        assert_eq!(delimiter(b"first\tlast\n"), b'\t');
        assert_eq!(delimiter(b"first,last\n"), b',');
        assert_eq!(delimiter(b"name\n"), b',');
    }
}
