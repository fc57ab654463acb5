//! Which contract revisions a run checks (`--revision`): the selection as given, and what it
//! resolves to against the specs — one *target* per vendor and revision.
//!
//! | `--revision` | targets |
//! | --- | --- |
//! | absent, `default` | each selected vendor's default revision (the captured pages) |
//! | `2026-07` (a revision name) | that revision of every selected vendor that has it; the others are reported as skipped for it |
//! | `agencyhandy=2026-07` | that vendor's revision; selected vendors no such pair names run their default revision, a pair naming an unselected vendor does nothing |
//! | `all` | every revision of every selected vendor |
//!
//! Terms combine, comma-separated or repeated (`default,2026-07`, `smartlead=default,smartlead=2026-03`).

use vendor_mock::{DEFAULT_REVISION, Specs};

use crate::vendor::target_name;

/// One term of `--revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionTerm {
    /// `all`: every revision of every selected vendor.
    All,
    /// `default` or a revision name such as `2026-07`: that revision of every selected vendor
    /// that has it.
    Named(String),
    /// `VENDOR=REV`: one vendor's revision.
    Pick { vendor: String, revision: String },
}

/// The revisions a run checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RevisionSelection {
    /// Each vendor's default revision.
    #[default]
    Default,
    /// The terms of `--revision`, in the order given.
    Terms(Vec<RevisionTerm>),
}

impl RevisionSelection {
    /// Parses `--revision` values (each may be comma-separated); no value, or only `default`,
    /// is [`RevisionSelection::Default`].
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for item in values.iter().flat_map(|v| v.as_ref().split(',')).map(str::trim).filter(|t| !t.is_empty()) {
            let term = match item.split_once('=') {
                Some((vendor, revision)) => {
                    let (vendor, revision) = (vendor.trim(), revision.trim());
                    if vendor.is_empty() || revision.is_empty() || revision == "all" {
                        return Err(format!("--revision {item}: expected VENDOR=REVISION (e.g. agencyhandy=2026-07)"));
                    }
                    RevisionTerm::Pick { vendor: vendor.to_owned(), revision: revision.to_owned() }
                }
                None if item == "all" => RevisionTerm::All,
                None => RevisionTerm::Named(item.to_owned()),
            };
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        let only_default = terms.iter().all(|t| *t == RevisionTerm::Named(DEFAULT_REVISION.to_owned()));
        Ok(if only_default { Self::Default } else { Self::Terms(terms) })
    }

    /// Only the default revisions, whatever the specs hold.
    pub fn is_default(&self) -> bool {
        *self == Self::Default
    }
}

/// A vendor at one revision, as a run checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub vendor: String,
    pub revision: String,
    /// Why it is not run (the vendor has no such revision).
    pub skip: Option<String>,
}

impl Target {
    /// `vendor` for the default revision, `vendor@revision` otherwise: stable across runs
    /// (seeds, replay file names).
    pub fn key(&self) -> String {
        target_name(&self.vendor, &self.revision)
    }

    /// `vendor@revision`, always.
    pub fn qualified(&self) -> String {
        format!("{}@{}", self.vendor, self.revision)
    }
}

/// The targets of a selection over `vendors` (already checked against the specs), vendor by
/// vendor in the order given and each vendor's revisions in the specs' order (default first,
/// then by date). Unknown vendors in pairs, unknown revisions in pairs, and a revision name no
/// selected vendor has are errors (with the known revisions).
pub fn resolve(specs: &Specs, vendors: &[String], selection: &RevisionSelection) -> Result<Vec<Target>, String> {
    let run =
        |vendor: &String, revision: &str| Target { vendor: vendor.clone(), revision: revision.to_owned(), skip: None };
    let terms = match selection {
        RevisionSelection::Default => return Ok(vendors.iter().map(|v| run(v, DEFAULT_REVISION)).collect()),
        RevisionSelection::Terms(terms) => terms,
    };
    let known = |vendor: &str| specs.revisions(vendor).join(", ");
    for term in terms {
        match term {
            RevisionTerm::Pick { vendor, revision } => {
                let names = specs.vendor_names();
                if !names.contains(vendor) {
                    return Err(format!(
                        "--revision {vendor}={revision}: no vendor `{vendor}` in the specs (known: {})",
                        names.join(", ")
                    ));
                }
                if !specs.revisions(vendor).contains(revision) {
                    return Err(format!(
                        "--revision {vendor}={revision}: `{vendor}` has no revision `{revision}` (known: {})",
                        known(vendor)
                    ));
                }
            }
            RevisionTerm::Named(revision) => {
                if !vendors.iter().any(|v| specs.revisions(v).contains(revision)) {
                    let listing: Vec<String> = vendors.iter().map(|v| format!("{v}: {}", known(v))).collect();
                    return Err(format!(
                        "--revision {revision}: no selected vendor has revision `{revision}` (known revisions: {}; or all)",
                        listing.join("; ")
                    ));
                }
            }
            RevisionTerm::All => {}
        }
    }
    let mut targets = Vec::new();
    for vendor in vendors {
        let available = specs.revisions(vendor);
        let mut chosen: Vec<String> = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        let mut covered = false;
        for term in terms {
            match term {
                RevisionTerm::All => {
                    covered = true;
                    chosen.extend(available.iter().cloned());
                }
                RevisionTerm::Named(revision) => {
                    covered = true;
                    if available.contains(revision) {
                        chosen.push(revision.clone());
                    } else {
                        missing.push(revision.clone());
                    }
                }
                RevisionTerm::Pick { vendor: v, revision } if v == vendor => {
                    covered = true;
                    chosen.push(revision.clone());
                }
                RevisionTerm::Pick { .. } => {}
            }
        }
        if !covered {
            chosen.push(DEFAULT_REVISION.to_owned());
        }
        for revision in available.iter().filter(|r| chosen.contains(r)) {
            targets.push(run(vendor, revision));
        }
        missing.dedup();
        for revision in missing {
            let reason = format!("{vendor} has no revision {revision} (known: {})", known(vendor));
            targets.push(Target { skip: Some(reason), ..run(vendor, &revision) });
        }
    }
    Ok(targets)
}

/// Splits the runnable targets into rounds that one mock can serve each: at most one revision
/// per vendor per round, earlier revisions first.
pub fn rounds(targets: &[Target]) -> Vec<Vec<&Target>> {
    let mut rounds: Vec<Vec<&Target>> = Vec::new();
    for t in targets.iter().filter(|t| t.skip.is_none()) {
        match rounds.iter_mut().find(|r| r.iter().all(|o| o.vendor != t.vendor)) {
            Some(round) => round.push(t),
            None => rounds.push(vec![t]),
        }
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Specs {
        Specs::embedded().expect("embedded specs load")
    }

    fn names(targets: &[Target]) -> Vec<String> {
        targets
            .iter()
            .map(|t| match &t.skip {
                Some(_) => format!("{} (skip)", t.qualified()),
                None => t.qualified(),
            })
            .collect()
    }

    fn resolve_str(vendors: &[&str], revision: &str) -> Result<Vec<String>, String> {
        let vendors: Vec<String> = vendors.iter().map(|v| (*v).to_owned()).collect();
        let selection = RevisionSelection::parse(&[revision])?;
        resolve(&specs(), &vendors, &selection).map(|t| names(&t))
    }

    #[test]
    fn nothing_or_only_default_is_the_default_selection() {
        assert_eq!(RevisionSelection::parse::<&str>(&[]), Ok(RevisionSelection::Default));
        assert_eq!(RevisionSelection::parse(&["default", " default "]), Ok(RevisionSelection::Default));
        assert!(!RevisionSelection::parse(&["default,2026-07"]).expect("parses").is_default());
        assert!(RevisionSelection::parse(&["agencyhandy="]).is_err());
        assert!(RevisionSelection::parse(&["=2026-07"]).is_err());
    }

    #[test]
    fn all_gives_every_revision_of_every_selected_vendor_default_first() {
        let all = resolve_str(&["agencyhandy", "cellcast", "smartlead"], "all").expect("resolves");
        assert_eq!(
            all,
            [
                "agencyhandy@default",
                "agencyhandy@2026-07",
                "cellcast@default",
                "smartlead@default",
                "smartlead@2026-03"
            ]
        );
    }

    #[test]
    fn a_revision_name_runs_where_it_exists_and_skips_elsewhere() {
        let t = resolve_str(&["agencyhandy", "cellcast"], "2026-07").expect("resolves");
        assert_eq!(t, ["agencyhandy@2026-07", "cellcast@2026-07 (skip)"]);
        let e = resolve_str(&["cellcast", "smartlead"], "2026-07").expect_err("no selected vendor has it");
        assert!(e.contains("cellcast: default; smartlead: default, 2026-03"), "{e}");
    }

    #[test]
    fn pairs_pick_one_vendor_and_leave_the_others_on_default() {
        let t = resolve_str(&["agencyhandy", "smartlead"], "agencyhandy=2026-07").expect("resolves");
        assert_eq!(t, ["agencyhandy@2026-07", "smartlead@default"]);
        let t = resolve_str(&["smartlead"], "agencyhandy=2026-07").expect("an unselected vendor's pair");
        assert_eq!(t, ["smartlead@default"]);
        let t = resolve_str(&["smartlead"], "smartlead=2026-03,smartlead=default").expect("both");
        assert_eq!(t, ["smartlead@default", "smartlead@2026-03"]);
        let e = resolve_str(&["smartlead"], "smartlead=1999-01").expect_err("unknown revision");
        assert!(e.contains("(known: default, 2026-03)"), "{e}");
        let e = resolve_str(&["smartlead"], "nosuch=2026-03").expect_err("unknown vendor");
        assert!(e.contains("no vendor `nosuch`"), "{e}");
    }

    #[test]
    fn rounds_serve_one_revision_per_vendor_each() {
        let specs = specs();
        let vendors = vec!["agencyhandy".to_owned(), "smartlead".to_owned()];
        let targets = resolve(&specs, &vendors, &RevisionSelection::Terms(vec![RevisionTerm::All])).expect("ok");
        let rounds: Vec<Vec<String>> =
            rounds(&targets).iter().map(|r| r.iter().map(|t| t.qualified()).collect()).collect();
        assert_eq!(
            rounds,
            [vec!["agencyhandy@default", "smartlead@default"], vec!["agencyhandy@2026-07", "smartlead@2026-03"]]
        );
    }
}
