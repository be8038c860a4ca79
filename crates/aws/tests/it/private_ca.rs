//! The SDK's HTTPS client over the CA roots read once (`deploy_kit_aws::tls`): a private CA in
//! the store is trusted, from a bundle file or from a directory when that is all there is; a
//! server whose CA is not in the store is refused; plain HTTP never loads the roots.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use deploy_kit_aws::tls::{self, Roots, Source};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/private-ca");

const IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ca</Arn><UserId>AIDACA</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#;

/// Answers every request with a GetCallerIdentity document, over TLS with a certificate issued
/// by the fixture's private CA when `tls`; counts the requests that arrived.
async fn server(tls: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let acceptor = tls.then(|| {
        let certs = CertificateDer::pem_file_iter(Path::new(FIXTURES).join("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(Path::new(FIXTURES).join("server.key")).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            answer(stream, &counter).await;
                        }
                    }
                    None => answer(tcp, &counter).await,
                }
            });
        }
    });
    let scheme = if tls { "https" } else { "http" };
    (format!("{scheme}://localhost:{port}"), seen)
}

async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    counter: &AtomicUsize,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    // Headers, then the (small, form-encoded) body the Content-Length announces.
    loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&request).to_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{IDENTITY}",
        IDENTITY.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// GetCallerIdentity at `endpoint` through deploy-kit's HTTP client over `roots`; counts how
/// often the client asked for the roots.
async fn caller_identity(
    endpoint: &str,
    roots: Roots,
) -> (Result<String, String>, Arc<AtomicUsize>) {
    let roots = Arc::new(roots);
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let client = tls::http_client(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        roots.clone()
    });
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::for_tests())
        .endpoint_url(endpoint)
        .http_client(client)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let sts = aws_sdk_sts::Client::from_conf(config);
    let result = sts.get_caller_identity().send().await;
    let result = result
        .map(|out| out.account().unwrap_or_default().to_owned())
        .map_err(|e| deploy_kit_aws::describe_error(&e));
    (result, asked)
}

fn bundle_with_the_private_ca(dir: &Path) -> std::path::PathBuf {
    // The system bundle with the private CA appended, as `update-ca-certificates` leaves it.
    let mut text = std::fs::read(tls::SYSTEM_BUNDLES[0]).unwrap_or_default();
    text.extend(std::fs::read(Path::new(FIXTURES).join("ca.pem")).unwrap());
    let path = dir.join("ca-certificates.crt");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_private_ca_in_the_bundle_is_trusted() {
    let temp = tempfile::tempdir().unwrap();
    let bundle = bundle_with_the_private_ca(temp.path());
    let (endpoint, seen) = server(true).await;
    let (result, asked) = caller_identity(&endpoint, Roots::load(&Source::File(bundle))).await;
    assert_eq!(result.as_deref(), Ok("123456789012"));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "the roots were asked for once"
    );
}

#[tokio::test]
async fn a_private_ca_in_a_directory_is_trusted_when_that_is_the_source() {
    let temp = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(FIXTURES).join("ca.pem"),
        temp.path().join("private.pem"),
    )
    .unwrap();
    std::fs::write(temp.path().join("README"), "not a certificate").unwrap();
    let source = Source::locate(
        |name| (name == "SSL_CERT_DIR").then(|| temp.path().display().to_string()),
        tls::SYSTEM_BUNDLES,
        tls::SYSTEM_DIRS,
    );
    let (endpoint, _) = server(true).await;
    let (result, _) = caller_identity(&endpoint, Roots::load(&source)).await;
    assert_eq!(result.as_deref(), Ok("123456789012"));
}

#[tokio::test]
async fn a_server_whose_ca_is_not_in_the_store_is_refused() {
    let system = Source::File(tls::SYSTEM_BUNDLES[0].into());
    let (endpoint, seen) = server(true).await;
    let (result, _) = caller_identity(&endpoint, Roots::load(&system)).await;
    let error = result.unwrap_err();
    assert!(error.contains("cannot reach AWS"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(seen.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn plain_http_never_loads_the_roots() {
    let (endpoint, seen) = server(false).await;
    let (result, asked) = caller_identity(&endpoint, Roots::default()).await;
    assert_eq!(result.as_deref(), Ok("123456789012"));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}
