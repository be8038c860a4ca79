//! The system's CA roots, read once per process, and the SDK's HTTPS client over them.
//!
//! The SDK's default client (rustls-native-certs through openssl-probe) reads the bundle file
//! *and* every file of the certificate directory, which on Debian hold the same roots twice, and
//! decodes them with a constant-time base64 decoder: most of an AWS step's own time. reqwest
//! (rustls-platform-verifier) did it all again in oidc-login. Here the roots come from one source:
//! `SSL_CERT_FILE`, else `SSL_CERT_DIR`, else the first system bundle that exists, else the first
//! system directory (a system with only a directory). A private CA added the system's way
//! (`update-ca-certificates`, `update-ca-trust`) is in the bundle, so it is still trusted.
//!
//! Nothing is read until a connection needs TLS: the SDK's client builds its TLS connector on the
//! first `https://` request, and callers of [`roots`] ask only when they need them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use base64::Engine;
use rustls_pki_types::CertificateDer;

/// Bundle files, in openssl-probe's order of the common distributions.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/cacert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/usr/local/etc/openssl/cert.pem",
];

/// Certificate directories, used only where no bundle exists.
pub const SYSTEM_DIRS: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/openssl/certs"];

/// Where the roots are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// Every file of these directories (`SSL_CERT_DIR` is colon-separated).
    Dirs(Vec<PathBuf>),
    Nowhere,
}

impl Source {
    /// `SSL_CERT_FILE`, else `SSL_CERT_DIR`, else the first of `bundles` that exists, else the
    /// first of `dirs` that exists.
    pub fn locate(env: impl Fn(&str) -> Option<String>, bundles: &[&str], dirs: &[&str]) -> Self {
        let set = |name: &str| env(name).filter(|value| !value.is_empty());
        if let Some(file) = set("SSL_CERT_FILE") {
            return Source::File(file.into());
        }
        if let Some(dirs) = set("SSL_CERT_DIR") {
            return Source::Dirs(std::env::split_paths(&dirs).collect());
        }
        if let Some(file) = bundles.iter().map(Path::new).find(|path| path.is_file()) {
            return Source::File(file.to_owned());
        }
        match dirs.iter().map(Path::new).find(|path| path.is_dir()) {
            Some(dir) => Source::Dirs(vec![dir.to_owned()]),
            None => Source::Nowhere,
        }
    }
}

/// The roots of one source: each certificate rustls accepts as a trust anchor, in DER (for
/// reqwest) and in its PEM text (for the SDK, which takes only PEM).
#[derive(Debug, Default)]
pub struct Roots {
    pub source: Option<PathBuf>,
    der: Vec<CertificateDer<'static>>,
    pem: Vec<u8>,
    /// Blocks that were not a usable certificate (a system store may hold a few).
    pub skipped: usize,
}

impl Roots {
    /// Reads `source` once. Unreadable files are skipped: a store that yields nothing makes
    /// every TLS connection fail with an unknown issuer, which names the problem.
    pub fn load(source: &Source) -> Self {
        let mut roots = Roots::default();
        match source {
            Source::File(path) => {
                roots.source = Some(path.clone());
                if let Ok(text) = std::fs::read(path) {
                    roots.add_pem(&text);
                }
            }
            Source::Dirs(dirs) => {
                roots.source = dirs.first().cloned();
                for dir in dirs {
                    roots.add_dir(dir);
                }
            }
            Source::Nowhere => {}
        }
        roots
    }

    fn add_dir(&mut self, dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
        files.sort();
        let mut seen = std::collections::HashSet::new();
        for file in files {
            // c_rehash links (`<hash>.0`) point at files also listed under their own name.
            if !seen.insert(std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone())) {
                continue;
            }
            if let Ok(text) = std::fs::read(&file) {
                self.add_pem(&text);
            }
        }
    }

    /// Every `CERTIFICATE` block of `text` that decodes and that rustls takes as a trust anchor.
    pub fn add_pem(&mut self, text: &[u8]) {
        const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
        const END: &[u8] = b"-----END CERTIFICATE-----";
        let mut rest = text;
        while let Some(start) = find(rest, BEGIN) {
            let body_start = start + BEGIN.len();
            let Some(len) = find(&rest[body_start..], END) else {
                self.skipped += 1;
                break;
            };
            let body = &rest[body_start..body_start + len];
            let block = &rest[start..body_start + len + END.len()];
            rest = &rest[body_start + len + END.len()..];
            let b64: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let der = match base64::engine::general_purpose::STANDARD.decode(&b64) {
                Ok(der) => CertificateDer::from(der),
                Err(_) => {
                    self.skipped += 1;
                    continue;
                }
            };
            // The SDK stops the process on a certificate rustls refuses: keep only good ones.
            if rustls::RootCertStore::empty().add(der.clone()).is_err() {
                self.skipped += 1;
                continue;
            }
            self.der.push(der);
            self.pem.extend_from_slice(block);
            self.pem.push(b'\n');
        }
    }

    pub fn len(&self) -> usize {
        self.der.len()
    }

    pub fn is_empty(&self) -> bool {
        self.der.is_empty()
    }

    /// The certificates in DER, e.g. for reqwest's `tls_certs_only`.
    pub fn der(&self) -> &[CertificateDer<'static>] {
        &self.der
    }

    /// The SDK's trust store: these roots only.
    fn trust_store(&self) -> TrustStore {
        let store = TrustStore::empty().with_native_roots(false);
        if self.pem.is_empty() {
            store
        } else {
            store.with_pem_certificate(self.pem.clone())
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The system's roots, read on first use and kept for the process.
pub fn roots() -> Arc<Roots> {
    static ROOTS: OnceLock<Arc<Roots>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let source =
                Source::locate(|name| std::env::var(name).ok(), SYSTEM_BUNDLES, SYSTEM_DIRS);
            Arc::new(Roots::load(&source))
        })
        .clone()
}

/// A reqwest client for requests to `url` that trusts the same roots as the SDK (read once per
/// process), or none when no connection can meet TLS: `url` is plain HTTP and no proxy is an
/// HTTPS one.
pub fn reqwest_client(url: &str, env: impl Fn(&str) -> Option<String>) -> reqwest::Client {
    let https_proxy = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .filter_map(|name| env(name))
        .any(|proxy| proxy.starts_with("https://"));
    let certs = if url.starts_with("http://") && !https_proxy {
        Vec::new()
    } else {
        reqwest_roots()
    };
    reqwest::Client::builder()
        .tls_certs_only(certs)
        .build()
        .unwrap_or_default()
}

/// The process's roots (read once, shared with the SDK's client) as reqwest takes them.
pub fn reqwest_roots() -> Vec<reqwest::Certificate> {
    roots()
        .der()
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}

/// The SDK's HTTP client: plain HTTP without TLS, HTTPS over `roots` (asked for on the first
/// `https://` request), proxies from `HTTP(S)_PROXY`/`NO_PROXY` as the SDK's own default client.
pub fn http_client(roots: impl Fn() -> Arc<Roots> + Send + Sync + 'static) -> SharedHttpClient {
    let plain = Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = ConnectorBuilder::default();
        configure(&mut builder, settings, components);
        builder.build_http()
    });
    let tls = Builder::new().build_with_connector_fn(move |settings, components| {
        let context = TlsContext::builder()
            .with_trust_store(roots().trust_store())
            .build()
            .unwrap_or_default();
        let mut builder = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context);
        configure(&mut builder, settings, components);
        builder.build()
    });
    SharedHttpClient::new(ByScheme { plain, tls })
}

fn configure<T>(
    builder: &mut ConnectorBuilder<T>,
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
) {
    builder.set_connector_settings(settings.cloned());
    if let Some(components) = components {
        builder.set_sleep_impl(components.sleep_impl());
    }
    builder.set_proxy_config(Some(ProxyConfig::from_env()));
}

/// Sends `http://` requests through the plain client and `https://` ones through the TLS client,
/// whose connector (and so the roots) is built on its first request. No eager validation: the
/// SDK's own client builds a TLS connector for every client constructed.
#[derive(Debug)]
struct ByScheme {
    plain: SharedHttpClient,
    tls: SharedHttpClient,
}

impl HttpClient for ByScheme {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SchemeConnector {
            plain: self.plain.clone(),
            tls: self.tls.clone(),
            settings: settings.clone(),
            components: components.clone(),
        })
    }
}

#[derive(Debug)]
struct SchemeConnector {
    plain: SharedHttpClient,
    tls: SharedHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
}

impl HttpConnector for SchemeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = if request.uri().starts_with("http://") {
            &self.plain
        } else {
            &self.tls
        };
        client
            .http_connector(&self.settings, &self.components)
            .call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn env_wins_then_the_first_bundle_then_a_directory_only_when_no_bundle_exists() {
        let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bundle = temp.path().join("bundle.pem");
        std::fs::write(&bundle, "").unwrap_or_else(|e| panic!("{e}"));
        let (bundle_s, dir_s) = (
            bundle.to_str().unwrap_or(""),
            temp.path().to_str().unwrap_or(""),
        );
        let none = |_: &str| None;
        let missing = "/nonexistent/bundle.pem";
        assert_eq!(
            Source::locate(none, &[missing, bundle_s], &[dir_s]),
            Source::File(bundle.clone())
        );
        assert_eq!(
            Source::locate(none, &[missing], &[dir_s]),
            Source::Dirs(vec![temp.path().to_owned()])
        );
        assert_eq!(
            Source::locate(none, &[missing], &["/nonexistent"]),
            Source::Nowhere
        );
        let file = |name: &str| (name == "SSL_CERT_FILE").then(|| "/x.pem".to_owned());
        assert_eq!(
            Source::locate(file, &[bundle_s], &[dir_s]),
            Source::File("/x.pem".into())
        );
        let dir = |name: &str| (name == "SSL_CERT_DIR").then(|| "/a:/b".to_owned());
        assert_eq!(
            Source::locate(dir, &[bundle_s], &[dir_s]),
            Source::Dirs(vec!["/a".into(), "/b".into()])
        );
    }

    #[test]
    fn blocks_that_are_not_certificates_are_skipped_not_fatal() {
        let mut roots = Roots::default();
        roots.add_pem(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
        roots.add_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        roots.add_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n");
        assert_eq!((roots.len(), roots.skipped), (0, 3));
    }

    #[test]
    fn the_system_bundle_parses_like_the_sdk_would() {
        // Every runner image and this project's CI have one (ca-certificates).
        let source = Source::locate(|_| None, SYSTEM_BUNDLES, &[]);
        let Source::File(path) = source else {
            panic!("no system CA bundle: {source:?}")
        };
        let roots = Roots::load(&Source::File(path.clone()));
        let text = std::fs::read(&path).unwrap_or_default();
        let all = CertificateDer::pem_slice_iter(&text).flatten().count();
        assert!(roots.len() > 50, "{} roots from {path:?}", roots.len());
        assert_eq!(roots.len() + roots.skipped, all);
    }
}
