//! Where the node's database servers are (`berth serve` and `berth agent run`).

use berth_agent::dbs::{DbServersConfig, MariadbAdmin, PostgresAdmin};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct DbFlags {
    /// MariaDB's unix socket; the agent connects as root over it (Debian's
    /// unix_socket authentication).
    #[arg(long, default_value = "/run/mysqld/mysqld.sock", env = "BERTH_MARIADB_SOCKET")]
    pub mariadb_socket: PathBuf,
    /// The TCP port tenants' applications use for MariaDB.
    #[arg(long, default_value_t = 3306, env = "BERTH_MARIADB_PORT")]
    pub mariadb_port: u16,
    /// The directory of PostgreSQL's socket; the agent connects as the
    /// `postgres` OS user over it (peer authentication).
    #[arg(long, default_value = "/var/run/postgresql", env = "BERTH_POSTGRES_SOCKET_DIR")]
    pub postgres_socket_dir: PathBuf,
    #[arg(long, default_value_t = 5432, env = "BERTH_POSTGRES_PORT")]
    pub postgres_port: u16,
    /// Manage no database server on this node.
    #[arg(long)]
    pub no_databases: bool,
}

impl DbFlags {
    /// `dump_dir`: where exports and uploaded imports are kept (0700).
    pub fn config(&self, dump_dir: PathBuf) -> DbServersConfig {
        if self.no_databases {
            return DbServersConfig::default();
        }
        let d = DbServersConfig::debian_defaults();
        DbServersConfig {
            mariadb: d.mariadb.map(|m| MariadbAdmin {
                socket: self.mariadb_socket.clone(),
                port: self.mariadb_port,
                ..m
            }),
            postgres: d.postgres.map(|p| PostgresAdmin {
                socket_dir: self.postgres_socket_dir.clone(),
                port: self.postgres_port,
                ..p
            }),
            dump_dir: Some(dump_dir),
        }
    }
}
