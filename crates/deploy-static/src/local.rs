//! The build folder: every file with its key, size, MD5 and the headers it will get.

use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::rules::{self, CacheRules};

/// One file of the build.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Relative to the build folder, `/`-separated.
    pub path: String,
    pub full: PathBuf,
    pub size: u64,
    /// Hex MD5 of the content: what S3 reports as the ETag of a single-part upload.
    pub md5: String,
    pub content_type: String,
    pub cache_control: String,
    pub html: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("input `source`: folder `{0}` does not exist: build the site first, or fix the path")]
    Missing(String),
    #[error("input `source`: `{0}` is a file, not a folder")]
    NotFolder(String),
    #[error("input `source`: folder `{0}` holds no files: the build produced nothing")]
    Empty(String),
    #[error("input `source`: cannot read `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("input `source`: `{0}` is not valid UTF-8, so it cannot be an S3 key")]
    Name(String),
}

/// Every file under `root` (symbolic links followed), sorted by path.
pub fn scan(root: &Path, rules: &CacheRules) -> Result<Vec<LocalFile>, LocalError> {
    let shown = root.display().to_string();
    match std::fs::metadata(root) {
        Err(_) => return Err(LocalError::Missing(shown)),
        Ok(meta) if !meta.is_dir() => return Err(LocalError::NotFolder(shown)),
        Ok(_) => {}
    }
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    if found.is_empty() {
        return Err(LocalError::Empty(shown));
    }
    found.sort();
    found
        .into_iter()
        .map(|(path, full)| describe(path, full, rules))
        .collect()
}

fn read_error(path: &Path, error: std::io::Error) -> LocalError {
    LocalError::Read {
        path: path.display().to_string(),
        error,
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, PathBuf)>) -> Result<(), LocalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
    for entry in entries {
        let full = entry.map_err(|e| read_error(dir, e))?.path();
        let meta = std::fs::metadata(&full).map_err(|e| read_error(&full, e))?;
        if meta.is_dir() {
            walk(root, &full, found)?;
        } else if meta.is_file() {
            let relative = full.strip_prefix(root).unwrap_or(&full);
            let parts: Option<Vec<&str>> = relative.iter().map(|p| p.to_str()).collect();
            let path = parts
                .ok_or_else(|| LocalError::Name(relative.display().to_string()))?
                .join("/");
            found.push((path, full));
        }
    }
    Ok(())
}

fn describe(path: String, full: PathBuf, rules: &CacheRules) -> Result<LocalFile, LocalError> {
    let mut file = std::fs::File::open(&full).map_err(|e| read_error(&full, e))?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| read_error(&full, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok(LocalFile {
        md5: hex::encode(hasher.finalize()),
        content_type: rules::content_type(&path),
        cache_control: rules.cache_control(&path).to_owned(),
        html: rules::is_html(&path),
        size,
        full,
        path,
    })
}
