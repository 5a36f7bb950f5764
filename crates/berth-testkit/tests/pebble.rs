//! The pebble harness: starts, serves its directory over TLS trusted via
//! `listener_ca_path`, hands out its root, and is gone once dropped.

#![allow(clippy::disallowed_methods)] // curl checks the server from outside

use berth_testkit::pebble::Pebble;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;

#[test]
fn pebble_starts_serves_and_stops() {
    // Nothing listens here: pebble only resolves names when validating.
    let dns: SocketAddr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let pebble = Pebble::start(1, dns).unwrap();

    let out = Command::new("/usr/bin/curl")
        .args(["-sS", "-f", "--cacert"])
        .arg(pebble.listener_ca_path())
        .arg(pebble.directory_url())
        .output()
        .unwrap();
    let dir = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dir.contains("newOrder"),
        "{dir} {}",
        pebble.log()
    );

    let root = pebble.root_pem().unwrap();
    assert!(root.starts_with("-----BEGIN CERTIFICATE-----"), "{root}");
    assert_eq!(pebble.root_pem().unwrap(), root);
    assert_eq!(std::fs::read_to_string(pebble.root_path().unwrap()).unwrap(), root);

    let port = pebble.acme_port;
    drop(pebble);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "pebble still listens on {port}"
    );
}
