//! `berth settings …`: list, get, set, reset. A value is JSON when it parses
//! as JSON (`10`, `true`, `{"a":1}`, `"quoted"`) and a plain string
//! otherwise, so `berth settings set mail.from panel@example.com` just works.

use super::output::{Ctx, opt, opt_ts};
use super::table::{Table, print_fields};
use berth_proto::SettingKey;
use berth_proto::api::settings::{Setting, SettingType, UpdateSetting};
use serde_json::Value;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum SettingsCmd {
    /// List every setting with its effective value.
    List,
    /// Show one setting.
    Get {
        #[arg(value_parser = SettingKey::parse)]
        key: SettingKey,
    },
    /// Set a value (JSON when it parses as JSON, else a string; quote it as
    /// JSON, '"10"', to force a string; `null` resets).
    Set {
        #[arg(value_parser = SettingKey::parse)]
        key: SettingKey,
        value: String,
    },
    /// Go back to the default value.
    Reset {
        #[arg(value_parser = SettingKey::parse)]
        key: SettingKey,
    },
}

/// The JSON value a command-line VALUE stands for.
pub fn parse_value(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
}

pub async fn run(ctx: &Ctx, cmd: SettingsCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        SettingsCmd::List => {
            let list = c.list_settings().await?;
            ctx.emit(&list, |list| {
                let mut t = Table::new(&["KEY", "VALUE", "TYPE", "SET", "DESCRIPTION"]);
                for s in list {
                    t.row(vec![
                        s.key.to_string(),
                        s.value.to_string(),
                        type_str(s.value_type).into(),
                        if s.is_set { "yes".into() } else { String::new() },
                        s.description.clone(),
                    ]);
                }
                t.print();
            })?;
        }
        SettingsCmd::Get { key } => show(ctx, &c.get_setting(&key).await?)?,
        SettingsCmd::Set { key, value } => {
            let req = UpdateSetting {
                value: parse_value(&value),
            };
            show(ctx, &c.update_setting(&key, &req).await?)?;
        }
        SettingsCmd::Reset { key } => {
            let req = UpdateSetting { value: Value::Null };
            show(ctx, &c.update_setting(&key, &req).await?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn type_str(t: SettingType) -> &'static str {
    match t {
        SettingType::String => "string",
        SettingType::Number => "number",
        SettingType::Boolean => "boolean",
        SettingType::Json => "json",
    }
}

fn show(ctx: &Ctx, s: &Setting) -> anyhow::Result<()> {
    ctx.emit(s, |s| {
        print_fields(&[
            ("key", s.key.to_string()),
            ("value", s.value.to_string()),
            ("default", s.default.to_string()),
            ("type", type_str(s.value_type).into()),
            ("overridden", if s.is_set { "yes" } else { "no" }.into()),
            ("updated", opt_ts(s.updated_at)),
            ("updated by", opt(s.updated_by)),
            ("description", s.description.clone()),
        ]);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_when_they_parse() {
        assert_eq!(parse_value("10"), json!(10));
        assert_eq!(parse_value("true"), json!(true));
        assert_eq!(parse_value(r#"{"a":[1]}"#), json!({"a": [1]}));
        assert_eq!(parse_value(r#""10""#), json!("10"));
        assert_eq!(parse_value("null"), Value::Null);
    }

    #[test]
    fn other_values_are_strings() {
        assert_eq!(parse_value("panel@example.com"), json!("panel@example.com"));
        assert_eq!(parse_value("hello world"), json!("hello world"));
        assert_eq!(parse_value("{broken"), json!("{broken"));
        assert_eq!(parse_value(""), json!(""));
    }
}
