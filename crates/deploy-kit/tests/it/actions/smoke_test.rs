//! smoke-test over HTTPS trusts what every other step trusts: the system roots read once
//! (deploy_kit_aws::tls), so a private CA added to the system store works with no extra setting,
//! and a server whose CA is not in the store is refused.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use deploy_kit_testbed::repo_root;

fn fixture(name: &str) -> PathBuf {
    repo_root()
        .join("crates/aws/tests/fixtures/private-ca")
        .join(name)
}

/// An HTTPS server on a loopback port answering 200 with a certificate of the fixture's private
/// CA; stops when dropped (and by itself after a minute).
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server() -> Server {
    let script = r#"
import http.server, ssl, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = c.wrap_socket(s.socket, server_side=True)
threading.Timer(60, s.shutdown).start()
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(fixture("server.pem"))
        .arg(fixture("server.key"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    Server {
        child,
        url: format!("https://localhost:{}/health", port.trim()),
    }
}

/// The system bundle with the private CA appended, as `update-ca-certificates` leaves it.
fn bundle_with_the_private_ca(dir: &Path) -> PathBuf {
    let mut text = std::fs::read(deploy_kit_aws::tls::SYSTEM_BUNDLES[0]).unwrap_or_default();
    text.extend(std::fs::read(fixture("ca.pem")).unwrap());
    let path = dir.join("ca-certificates.crt");
    std::fs::write(&path, text).unwrap();
    path
}

fn smoke_test(url: &str, bundle: &Path) -> deploy_kit_testbed::binary::Run {
    crate::deploy_kit()
        .action("smoke-test")
        .env("SSL_CERT_FILE", bundle)
        .inputs(&[("url", url), ("wait-for", "2s"), ("requests", "2")])
        .run()
}

#[test]
fn a_private_ca_in_the_system_store_is_trusted_and_a_stranger_is_not() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let trusted = smoke_test(&server.url, &bundle_with_the_private_ca(dir.path()));
    trusted.assert_code(0);

    let system_only = Path::new(deploy_kit_aws::tls::SYSTEM_BUNDLES[0]);
    let refused = smoke_test(&server.url, system_only);
    assert_ne!(refused.code, Some(0), "{}", refused.log());
    assert!(
        refused.log().to_lowercase().contains("certificate"),
        "{}",
        refused.log()
    );
}
