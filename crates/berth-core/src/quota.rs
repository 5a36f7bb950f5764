//! Package limits: checking a new resource against its limit, and a
//! reseller's package against the reseller's own allocation.

use berth_proto::api::packages::{Limits, Resource};

/// A limit that would be exceeded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the package allows {limit} {resource}; {used} are in use")]
pub struct LimitExceeded {
    pub resource: Resource,
    pub limit: i64,
    pub used: i64,
}

/// May `adding` more of `resource` be created when `used` exist?
pub fn check(limits: &Limits, resource: Resource, used: i64, adding: i64) -> Result<(), LimitExceeded> {
    match limits.get(resource) {
        Some(limit) if used.saturating_add(adding) > limit => Err(LimitExceeded { resource, limit, used }),
        _ => Ok(()),
    }
}

/// The resources where `package` gives more than `allocation` allows. An
/// unlimited value inside a limited allocation is over it.
pub fn exceeds_allocation(package: &Limits, allocation: &Limits) -> Vec<Resource> {
    Resource::ALL
        .into_iter()
        .filter(|r| match (package.get(*r), allocation.get(*r)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(p), Some(a)) => p > a,
        })
        .collect()
}

/// Limits must be `null` or between 0 and a sane maximum.
pub fn validate(limits: &Limits) -> Result<(), String> {
    for r in Resource::ALL {
        if let Some(v) = limits.get(r)
            && !(0..=1_000_000_000).contains(&v)
        {
            return Err(format!(
                "limit {r} must be between 0 and 1000000000, or null for unlimited"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced() {
        let l = Limits {
            sites: Some(2),
            ..Default::default()
        };
        assert!(check(&l, Resource::Sites, 1, 1).is_ok());
        let e = check(&l, Resource::Sites, 2, 1).unwrap_err();
        assert_eq!(e.resource, Resource::Sites);
        assert_eq!(e.to_string(), "the package allows 2 sites; 2 are in use");
        assert!(check(&l, Resource::Databases, 1_000, 1).is_ok(), "null is unlimited");
        let zero = Limits {
            mailboxes: Some(0),
            ..Default::default()
        };
        assert!(check(&zero, Resource::Mailboxes, 0, 1).is_err());
    }

    #[test]
    fn reseller_packages_stay_inside_allocation() {
        let alloc = Limits {
            sites: Some(10),
            disk_mb: Some(5000),
            ..Default::default()
        };
        let ok = Limits {
            sites: Some(10),
            disk_mb: Some(100),
            databases: None,
            ..Default::default()
        };
        assert!(exceeds_allocation(&ok, &alloc).is_empty());
        let over = Limits {
            sites: Some(11),
            disk_mb: None,
            ..Default::default()
        };
        assert_eq!(
            exceeds_allocation(&over, &alloc),
            vec![Resource::Sites, Resource::DiskMb]
        );
    }

    #[test]
    fn negative_limits_are_refused() {
        let l = Limits {
            sites: Some(-1),
            ..Default::default()
        };
        assert!(validate(&l).is_err());
    }
}
