//! The platforms roster exports to, and how one took a user.

use serde::{Deserialize, Serialize};

/// A platform roster exports to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    clap::ValueEnum,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Vendor {
    /// ServicePower ServiceMobility, `POST /seiapi/v3/bulk/Users`.
    #[value(name = "servicepower")]
    ServicePower,
    /// eSystems, `PATCH /Endpoint/rest/api/v1/Location/{Id}/Users`.
    #[value(name = "esystems")]
    ESystems,
    /// Field Squared, `POST /{Workspace}/UserImport`.
    #[value(name = "fieldsquared")]
    FieldSquared,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 3] = [Vendor::ServicePower, Vendor::ESystems, Vendor::FieldSquared];

    /// Finds a vendor by its lowercase name.
    pub fn parse(name: &str) -> Option<Vendor> {
        name.parse().ok()
    }

    /// The lowercase name used on the command line, in file names and in export hooks.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Users per payload file when `--batch-size` is not given: small enough for the
    /// vendors' request-size and time limits, large enough to keep the file count low.
    /// Field Squared imports are slower per user (geocoding, schedules), hence smaller.
    pub fn default_batch_size(self) -> usize {
        match self {
            Vendor::ServicePower | Vendor::ESystems => 500,
            Vendor::FieldSquared => 200,
        }
    }
}

impl std::fmt::Display for Vendor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the vendor took one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Status {
    /// Loaded.
    Accepted,
    /// Loaded, with a message worth reading.
    Warning,
    /// The vendor named this user as the problem.
    Rejected,
    /// The batch failed as a whole: the user was not confirmed loaded.
    Failed,
}

impl Status {
    /// `accepted`, `warning`, `rejected` or `failed`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses `accepted`, `warning`, `rejected` or `failed`.
    pub fn parse(text: &str) -> Option<Status> {
        text.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn each_vendor_is_known_by_one_name_everywhere() {
        for vendor in Vendor::ALL {
            let name = vendor.name();
            assert_eq!(Vendor::parse(name), Some(vendor));
            assert_eq!(vendor.to_possible_value().unwrap().get_name(), name);
            assert_eq!(serde_json::to_value(vendor).unwrap(), name);
        }
        assert_eq!(Vendor::parse("ServicePower"), None, "names are lowercase");
    }
}
