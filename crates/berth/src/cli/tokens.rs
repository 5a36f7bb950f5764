//! `berth tokens …`: your API tokens. The secret of a new token is printed
//! once, clearly marked; the server keeps only its hash.

use super::output::{Ctx, opt_ts, ts};
use super::table::{Table, clean, print_fields};
use berth_proto::api::tokens::CreateToken;
use berth_proto::{Text, TokenAccess, TokenId};
use ipnet::IpNet;
use std::net::IpAddr;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum TokensCmd {
    /// List your tokens (never their secrets).
    List,
    /// Create a token and print its secret once.
    Create {
        #[arg(value_parser = Text::parse)]
        name: Text,
        /// read (safe methods only) or full.
        #[arg(long)]
        access: TokenAccess,
        /// Stop working after this many days (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
        /// Only accept the token from this network (CIDR or single address;
        /// repeat for several).
        #[arg(long = "allow", value_name = "CIDR", value_parser = parse_net)]
        allow: Vec<IpNet>,
    },
    /// Delete a token; it stops working at once.
    Delete { id: TokenId },
}

/// A CIDR, or a bare address meaning just that host.
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not a network (like 192.0.2.0/24) or an address"))
}

pub async fn run(ctx: &Ctx, cmd: TokensCmd) -> anyhow::Result<ExitCode> {
    let c = &ctx.client;
    match cmd {
        TokensCmd::List => {
            let list = c.list_tokens().await?;
            ctx.emit(&list, |list| {
                let mut t = Table::new(&["ID", "NAME", "ACCESS", "PREFIX", "EXPIRES", "LAST USED", "ALLOW"]);
                for k in list {
                    let allow: Vec<String> = k.ip_allowlist.iter().map(ToString::to_string).collect();
                    t.row(vec![
                        k.id.to_string(),
                        k.name.to_string(),
                        k.access.as_str().into(),
                        k.prefix.clone(),
                        opt_ts(k.expires_at),
                        opt_ts(k.last_used_at),
                        if allow.is_empty() {
                            "any".into()
                        } else {
                            allow.join(",")
                        },
                    ]);
                }
                t.print();
            })?;
        }
        TokensCmd::Create {
            name,
            access,
            expires_in_days,
            allow,
        } => {
            let req = CreateToken {
                name,
                access,
                expires_in_days,
                ip_allowlist: allow,
            };
            let created = c.create_token(&req).await?;
            ctx.emit(&created, |ct| {
                let k = &ct.token;
                print_fields(&[
                    ("id", k.id.to_string()),
                    ("name", k.name.to_string()),
                    ("access", k.access.as_str().into()),
                    ("expires", opt_ts(k.expires_at)),
                    ("created", ts(k.created_at)),
                ]);
                println!();
                println!("Secret (shown only this once; store it now, it cannot be shown again):");
                println!("  {}", clean(&ct.secret));
            })?;
        }
        TokensCmd::Delete { id } => {
            c.delete_token(id).await?;
            ctx.done(format!("Token {id} deleted."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("192.0.2.7").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("example.com").is_err());
    }
}
