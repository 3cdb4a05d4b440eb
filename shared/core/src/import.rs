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
/// spreadsheet would read as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) is
/// prefixed with `'`, which spreadsheets show as text.
pub fn report_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
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
}
