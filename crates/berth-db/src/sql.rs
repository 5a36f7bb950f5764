//! A minimal SQL builder for dynamic filters. sqlx's `QueryBuilder<Any>`
//! writes `?` placeholders, which PostgreSQL rejects; this one writes `$N`,
//! which both backends accept. Values are always bound, never inlined.

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, AssertSqlSafe};

#[derive(Default)]
pub struct Sql {
    text: String,
    args: AnyArguments,
    n: usize,
}

impl Sql {
    pub fn new(text: &'static str) -> Sql {
        Sql {
            text: text.to_owned(),
            ..Default::default()
        }
    }

    /// Append fixed SQL text (never user input).
    pub fn push(&mut self, text: &'static str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `v`.
    pub fn bind<T>(&mut self, v: T) -> &mut Self
    where
        T: 'static + Send + sqlx::Encode<'static, Any> + sqlx::Type<Any>,
    {
        self.n += 1;
        self.text.push('$');
        self.text.push_str(&self.n.to_string());
        // Encoding a String or i64 into AnyArguments cannot fail.
        let _ = self.args.add(v);
        self
    }

    pub fn query(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.text), self.args)
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        s.bind("x".to_owned()).push(" AND b = ").bind(3i64);
        assert_eq!(s.text(), "SELECT 1 WHERE a = $1 AND b = $2");
    }
}
