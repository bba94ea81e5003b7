//! Generated users for benchmarks and demos: deterministic by seed, with the dirt real HR
//! exports have (blank and mixed-case e-mails, duplicate keys, unknown location codes,
//! accented names, quoted commas), as a base snapshot and a next one with known changes.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use serde::Serialize;

/// The columns of a generated file (12, all canonical).
pub const COLUMNS: [&str; 12] = [
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phones",
    "roles",
    "teams",
    "language",
    "timezone",
    "location",
    "active",
    "mobile_worker",
];

/// The location codes generated rows use; `ZZ-UNKNOWN` is the dirt no reference table holds.
pub const LOCATIONS: [&str; 6] = ["OSL", "BER", "CHI", "LYO", "MAD", "ZZ-UNKNOWN"];

const FIRST: &[&str] = &[
    "Ada", "Alan", "Grace", "José", "Zoë", "Björn", "Chloé", "Mateo", "Nadia", "Priya", "Sven",
    "Tomás", "Yuki", "Élodie", "Hannah", "Kwame", "Ingrid", "Mei", "Ravi", "Aisha", "Lars", "Omar",
    "Sophie", "Noah",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "García",
    "Müller",
    "Andersson",
    "Dubois",
    "Rossi",
    "Haddad",
    "Iyer",
    "Lund",
    "Ortega",
    "Tanaka",
    "Lefèvre",
    "Schmidt",
    "Mensah",
    "Berg",
    "Chen",
    "Patel",
    "Khan",
    "Nilsen",
    "Smith, Jr.",
    "O'Brien",
    "Nguyen",
];
const TEAMS: &[&str] = &["North", "South", "East", "West", "Install", "Repair"];
const LANGUAGES: &[&str] = &["en", "fr", "de", "es", "no", "sv"];
const TIMEZONES: &[&str] = &[
    "Europe/Oslo",
    "Europe/Berlin",
    "America/Chicago",
    "Europe/Paris",
    "Europe/Madrid",
];

/// How many of each kind of row a generated snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows written (duplicates included).
    pub rows: u64,
    /// Distinct users.
    pub users: u64,
    /// Rows repeating an earlier key (rejected by a plan).
    pub duplicates: u64,
    /// Rows with a blank e-mail.
    pub blank_emails: u64,
    /// Rows with a location no reference table knows.
    pub unknown_locations: u64,
    /// Next snapshot only: users whose row changed.
    pub changed: u64,
    /// Next snapshot only: users left out.
    pub removed: u64,
    /// Next snapshot only: users added.
    pub added: u64,
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Users in the base snapshot.
    pub users: u64,
    /// The seed: the same seed gives the same files.
    pub seed: u64,
    /// Whether to sprinkle dirt (duplicates, blanks, unknown codes, mixed case).
    pub dirty: bool,
}

/// One generated user's cells.
fn user(index: u64, version: u32, dirty: bool, rng: &mut ChaCha12Rng) -> [String; 12] {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let mut email = format!("{}.{}{}@field.example", ascii(first), ascii(last), index);
    if version > 0 {
        email = format!(
            "{}.{}{}.v{version}@field.example",
            ascii(first),
            ascii(last),
            index
        );
    }
    if dirty && index % 97 == 13 {
        email = email.to_uppercase();
    }
    if dirty && index % 89 == 7 {
        email.clear();
    }
    let location = if dirty && index % 101 == 5 {
        LOCATIONS[5]
    } else {
        LOCATIONS[rng.random_range(0..5)]
    };
    let roles = if index % 10 == 0 {
        "technician;dispatcher"
    } else {
        "technician"
    };
    [
        format!("U{index:07}"),
        first.to_string(),
        last.to_string(),
        email,
        format!("mobile:+47 4{:07}", index % 10_000_000),
        roles.to_string(),
        TEAMS[rng.random_range(0..TEAMS.len())].to_string(),
        LANGUAGES[rng.random_range(0..LANGUAGES.len())].to_string(),
        TIMEZONES[rng.random_range(0..TIMEZONES.len())].to_string(),
        location.to_string(),
        if index % 50 == 49 { "no" } else { "yes" }.to_string(),
        "yes".to_string(),
    ]
}

fn ascii(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'é' | 'è' => Some('e'),
            'ë' => Some('e'),
            'ö' | 'ø' => Some('o'),
            'ü' => Some('u'),
            'á' => Some('a'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Writes the base snapshot.
pub fn base(spec: &Spec, out: impl Write) -> csv::Result<Counts> {
    write(spec, out, |_| Some(0), 0)
}

/// Writes the next snapshot: 5% of the users changed, 2% removed and 3% added.
pub fn next(spec: &Spec, out: impl Write) -> csv::Result<Counts> {
    let added = spec.users * 3 / 100;
    write(
        spec,
        out,
        |index| match index % 100 {
            0..=1 => None,
            2..=6 => Some(1),
            _ => Some(0),
        },
        added,
    )
}

/// Writes users `0..spec.users` (each as `version(index)`, or left out on `None`), then `added` new ones.
fn write(
    spec: &Spec,
    out: impl Write,
    version: impl Fn(u64) -> Option<u32>,
    added: u64,
) -> csv::Result<Counts> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    let mut counts = Counts::default();
    for index in 0..spec.users + added {
        // Every user draws from its own stream, so the base and next snapshots agree.
        let mut rng =
            ChaCha12Rng::seed_from_u64(spec.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let version = if index >= spec.users {
            Some(0)
        } else {
            version(index)
        };
        let Some(version) = version else {
            counts.removed += 1;
            continue;
        };
        let cells = user(index, version, spec.dirty, &mut rng);
        counts.users += 1;
        counts.changed += u64::from(version > 0);
        counts.added += u64::from(index >= spec.users);
        counts.blank_emails += u64::from(cells[3].is_empty());
        counts.unknown_locations += u64::from(cells[9] == LOCATIONS[5]);
        writer.write_record(&cells)?;
        if spec.dirty && index % 1000 == 999 {
            writer.write_record(&cells)?;
            counts.duplicates += 1;
        }
    }
    counts.rows = counts.users + counts.duplicates;
    writer.flush()?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(spec: &Spec, next_snapshot: bool) -> (String, Counts) {
        let mut out = Vec::new();
        let counts = if next_snapshot {
            next(spec, &mut out)
        } else {
            base(spec, &mut out)
        }
        .unwrap();
        (String::from_utf8(out).unwrap(), counts)
    }

    #[test]
    fn the_same_seed_gives_the_same_file() {
        let spec = Spec {
            users: 500,
            seed: 3,
            dirty: true,
        };
        assert_eq!(generate(&spec, false).0, generate(&spec, false).0);
        let other = Spec { seed: 4, ..spec };
        assert_ne!(generate(&spec, false).0, generate(&other, false).0);
    }

    #[test]
    fn the_next_snapshot_has_the_announced_counts() {
        let spec = Spec {
            users: 1000,
            seed: 1,
            dirty: false,
        };
        let (_, counts) = generate(&spec, true);
        assert_eq!((counts.changed, counts.removed, counts.added), (50, 20, 30));
        assert_eq!(counts.users, 1000 - 20 + 30);
    }

    #[test]
    fn dirty_files_hold_duplicates_blanks_and_quoted_commas() {
        let spec = Spec {
            users: 2000,
            seed: 9,
            dirty: true,
        };
        let (text, counts) = generate(&spec, false);
        assert_eq!(counts.duplicates, 2);
        assert!(counts.blank_emails > 0 && counts.unknown_locations > 0);
        assert_eq!(text.lines().count() as u64, counts.rows + 1);
        assert!(text.contains("\"Smith, Jr.\""));
    }
}
