//! Starts the local AWS test bed (`tests/bed/up`) for one test, in its own state dir on its own
//! ephemeral port, and stops it when dropped. The bed also stops by itself if the test process
//! dies, so a crashed test leaves nothing running.

use std::path::{Path, PathBuf};
use std::process::Command;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_types::sdk_config::SharedCredentialsProvider;

/// A running bed.
pub struct Bed {
    env: Vec<(String, String)>,
    state: PathBuf,
}

#[derive(Debug)]
pub struct BedError(pub String);

impl std::fmt::Display for BedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BedError {}

/// The repository root (this crate lives in `crates/testbed`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Bed {
    pub fn start() -> Result<Self, BedError> {
        let state = std::env::temp_dir().join(format!(
            "deploy-kit-bed-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let output = Command::new(repo_root().join("tests/bed/up"))
            .args(["--parent-pid", &std::process::id().to_string()])
            .env("BED_STATE_DIR", &state)
            .env("BED_TTL", "900")
            .output()
            .map_err(|e| BedError(format!("cannot run tests/bed/up: {e}")))?;
        if !output.status.success() {
            return Err(BedError(format!(
                "tests/bed/up failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let env = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self { env, state })
    }

    /// The environment a process needs to use the bed (endpoint, region, dummy credentials).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn endpoint_url(&self) -> &str {
        self.var("AWS_ENDPOINT_URL").unwrap_or_default()
    }

    /// An SDK configuration pointed at the bed.
    pub async fn sdk_config(&self) -> SdkConfig {
        let credentials = aws_credential_types::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "deploy-kit test bed",
        );
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint_url())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .load()
            .await
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("tests/bed/down"))
            .env("BED_STATE_DIR", &self.state)
            .status();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
