//! The password policy (its numbers come from settings `auth.password.*`).

/// What a new password must satisfy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// How many of the four classes (lower, upper, digit, other) must appear.
    pub min_classes: usize,
}

/// Common passwords that pass naive class rules; refused outright.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "password123",
    "qwerty123",
    "letmein",
    "welcome1",
    "admin123",
    "changeme",
    "iloveyou",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "abc12345",
];

impl PasswordPolicy {
    /// `Ok` or a message naming every rule that failed.
    pub fn check(&self, password: &str, email: &str) -> Result<(), String> {
        let mut problems = Vec::new();
        let len = password.chars().count();
        if len < self.min_length {
            problems.push(format!("at least {} characters", self.min_length));
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if classes < self.min_classes {
            problems.push(format!(
                "characters from at least {} of: lower case, upper case, digits, symbols",
                self.min_classes
            ));
        }
        let lower = password.to_lowercase();
        if COMMON.iter().any(|c| lower.starts_with(c)) {
            problems.push("not a commonly used password".to_owned());
        }
        let local = email.split('@').next().unwrap_or_default().to_lowercase();
        if local.len() >= 3 && lower.contains(&local) {
            problems.push("not containing your email name".to_owned());
        }
        let distinct: std::collections::HashSet<char> = password.chars().collect();
        if len > 0 && distinct.len() < 4 {
            problems.push("more than a few distinct characters".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("the password needs {}", problems.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PasswordPolicy = PasswordPolicy {
        min_length: 12,
        min_classes: 3,
    };

    #[test]
    fn strong_passes() {
        assert!(P.check("Correct-Horse-7", "ann@example.com").is_ok());
    }

    #[test]
    fn weak_fail_with_reasons() {
        let e = P.check("short", "ann@example.com").unwrap_err();
        assert!(e.contains("at least 12 characters"), "{e}");
        assert!(P.check("alllowercaseletters", "x@y.io").is_err());
        assert!(P.check("Password123!!", "x@y.io").unwrap_err().contains("common"));
        assert!(
            P.check("Annabelle-2024x", "annabelle@y.io")
                .unwrap_err()
                .contains("email")
        );
        assert!(P.check("aaaaAAAA1111", "x@y.io").unwrap_err().contains("distinct"));
    }
}
