//! The decision, made once before anything is written: which files to upload (assets, then
//! HTML), which are unchanged, which stale objects to delete or keep, and what to invalidate.

use std::collections::{BTreeMap, BTreeSet};

use crate::input::Invalidate;
use crate::local::LocalFile;
use crate::remote::{Manifest, Recorded, RemoteObject};

/// More paths than this in one invalidation become one wildcard: CloudFront charges per path
/// beyond the free 1,000 a month, and a wildcard counts as one.
pub const MAX_PATHS: usize = 15;

/// How a build file compares with its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    Same,
    Changed,
    /// The content matches but the headers are unknown (no manifest entry): ask S3 (HEAD).
    Unknown,
}

/// A file compared with what is in the bucket and what the last release recorded of it.
pub fn compare(
    file: &LocalFile,
    remote: Option<&RemoteObject>,
    recorded: Option<&Recorded>,
) -> Compare {
    let Some(remote) = remote else {
        return Compare::Changed;
    };
    let headers_known = recorded
        .map(|r| r.content_type == file.content_type && r.cache_control == file.cache_control);
    let content_same = remote.size == file.size
        && (remote.etag == file.md5
            || recorded.is_some_and(|r| r.md5 == file.md5 && r.etag == remote.etag));
    match (content_same, headers_known) {
        (false, _) | (true, Some(false)) => Compare::Changed,
        (true, Some(true)) => Compare::Same,
        (true, None) => Compare::Unknown,
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Not HTML: uploaded first, so no page is live before what it references.
    pub assets: Vec<LocalFile>,
    /// Uploaded last.
    pub html: Vec<LocalFile>,
    pub unchanged: Vec<LocalFile>,
    /// Paths under the prefix, deleted once the new HTML is live.
    pub delete: Vec<String>,
    /// Stale paths kept because a recent release had them.
    pub kept: usize,
    /// CloudFront paths, percent-encoded.
    pub invalidation: Vec<String>,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.assets.iter().chain(&self.html).map(|f| f.size).sum()
    }
}

/// The plan, from files already compared (`changed` true to upload). `delete` false keeps every
/// stale object; otherwise those a release among the last `keep_previous` had are kept.
pub fn plan(
    files: Vec<(LocalFile, bool)>,
    remote: &BTreeMap<String, RemoteObject>,
    manifest: &Manifest,
    delete: bool,
    keep_previous: usize,
    prefix: &str,
    invalidate: &Invalidate,
) -> Plan {
    let mut plan = Plan::default();
    let local: BTreeSet<String> = files.iter().map(|(f, _)| f.path.clone()).collect();
    let current: BTreeMap<String, String> = files
        .iter()
        .map(|(f, _)| (f.path.clone(), f.md5.clone()))
        .collect();
    for (file, changed) in files {
        match (changed, file.html) {
            (false, _) => plan.unchanged.push(file),
            (true, false) => plan.assets.push(file),
            (true, true) => plan.html.push(file),
        }
    }
    // Earlier releases: a re-run of the release already recorded is not one of them.
    let keep: BTreeSet<&String> = manifest
        .releases
        .iter()
        .filter(|r| {
            let recorded: BTreeMap<String, String> = r
                .files
                .iter()
                .map(|(p, f)| (p.clone(), f.md5.clone()))
                .collect();
            recorded != current
        })
        .take(keep_previous)
        .flat_map(|r| r.files.keys())
        .collect();
    for path in remote.keys().filter(|p| !local.contains(*p)) {
        if delete && !keep.contains(path) {
            plan.delete.push(path.clone());
        } else {
            plan.kept += 1;
        }
    }
    plan.invalidation = match invalidate {
        Invalidate::Nothing => Vec::new(),
        Invalidate::All => vec![format!("/{}*", encode(prefix))],
        Invalidate::Paths(paths) => paths.clone(),
        Invalidate::Changed => changed_paths(&plan.html, prefix),
    };
    plan
}

/// The URL paths that serve each changed HTML file: `/a/b.html`, and `/a/` (and `/a`) for
/// `a/index.html`, as CloudFront caches each URL separately. Over [`MAX_PATHS`], one wildcard.
fn changed_paths(html: &[LocalFile], prefix: &str) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for file in html {
        let full = format!("{prefix}{}", file.path);
        paths.insert(format!("/{}", encode(&full)));
        if let Some(dir) = full.strip_suffix("index.html") {
            paths.insert(format!("/{}", encode(dir)));
            if let Some(bare) = dir.strip_suffix('/') {
                paths.insert(format!("/{}", encode(bare)));
            }
        }
    }
    // `/` once: the root's bare form is empty.
    paths.remove("");
    if paths.len() > MAX_PATHS {
        return vec![format!("/{}*", encode(prefix))];
    }
    paths.into_iter().collect()
}

/// CloudFront wants paths URL-encoded as they are requested; `/` stays.
fn encode(path: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(path, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::Release;

    fn file(path: &str, md5: &str) -> LocalFile {
        LocalFile {
            path: path.into(),
            full: path.into(),
            size: 3,
            md5: md5.into(),
            content_type: "t".into(),
            cache_control: "c".into(),
            html: path.ends_with(".html"),
        }
    }

    fn remote(etag: &str) -> RemoteObject {
        RemoteObject {
            etag: etag.into(),
            size: 3,
        }
    }

    fn recorded(md5: &str, etag: &str, cc: &str) -> Recorded {
        Recorded {
            md5: md5.into(),
            etag: etag.into(),
            content_type: "t".into(),
            cache_control: cc.into(),
        }
    }

    #[test]
    fn compare_by_etag_manifest_and_headers() {
        let f = file("a.js", "aa");
        assert_eq!(compare(&f, None, None), Compare::Changed);
        assert_eq!(compare(&f, Some(&remote("bb")), None), Compare::Changed);
        assert_eq!(compare(&f, Some(&remote("aa")), None), Compare::Unknown);
        assert_eq!(
            compare(&f, Some(&remote("aa")), Some(&recorded("aa", "aa", "c"))),
            Compare::Same
        );
        assert_eq!(
            compare(&f, Some(&remote("aa")), Some(&recorded("aa", "aa", "x"))),
            Compare::Changed
        );
        // A multipart ETag is recognised through the manifest.
        assert_eq!(
            compare(
                &f,
                Some(&remote("cc-2")),
                Some(&recorded("aa", "cc-2", "c"))
            ),
            Compare::Same
        );
        assert_eq!(
            compare(
                &f,
                Some(&remote("dd-2")),
                Some(&recorded("aa", "cc-2", "c"))
            ),
            Compare::Changed
        );
    }

    #[test]
    fn html_last_stale_files_kept_for_recent_releases() {
        let files = vec![
            (file("index.html", "1"), true),
            (file("docs/index.html", "2"), true),
            (file("a-12345678.js", "3"), true),
            (file("b.css", "4"), false),
        ];
        let mut objects = BTreeMap::new();
        for p in ["old-1.js", "older.js", "b.css"] {
            objects.insert(p.to_owned(), remote("x"));
        }
        let release = |p: &str| Release {
            id: p.into(),
            at: 0,
            files: [(p.to_owned(), recorded("x", "x", "c"))].into(),
        };
        let manifest = Manifest {
            releases: vec![release("old-1.js"), release("older.js")],
        };
        let plan = plan(
            files.clone(),
            &objects,
            &manifest,
            true,
            1,
            "",
            &Invalidate::Changed,
        );
        assert_eq!(plan.assets.len(), 1);
        assert_eq!(plan.html.len(), 2);
        assert_eq!(plan.unchanged.len(), 1);
        assert_eq!(plan.delete, vec!["older.js"]);
        assert_eq!(plan.kept, 1);
        assert_eq!(
            plan.invalidation,
            vec!["/", "/docs", "/docs/", "/docs/index.html", "/index.html"]
        );
        let none = super::plan(
            files,
            &objects,
            &manifest,
            false,
            0,
            "site/",
            &Invalidate::All,
        );
        assert!(none.delete.is_empty());
        assert_eq!(none.invalidation, vec!["/site/*"]);
    }

    #[test]
    fn a_rerun_keeps_the_release_before_it() {
        let files = vec![(file("a.js", "1"), false)];
        let objects: BTreeMap<String, RemoteObject> = [
            ("a.js".to_owned(), remote("1")),
            ("old.js".to_owned(), remote("x")),
        ]
        .into();
        let release = |p: &str, md5: &str| Release {
            id: p.into(),
            at: 0,
            files: [(p.to_owned(), recorded(md5, md5, "c"))].into(),
        };
        // The last record is this very build; the one before it had old.js.
        let manifest = Manifest {
            releases: vec![release("a.js", "1"), release("old.js", "x")],
        };
        let plan = plan(
            files,
            &objects,
            &manifest,
            true,
            1,
            "",
            &Invalidate::Changed,
        );
        assert!(plan.delete.is_empty(), "{:?}", plan.delete);
        assert_eq!(plan.kept, 1);
    }

    #[test]
    fn many_changed_pages_become_one_wildcard() {
        let html: Vec<LocalFile> = (0..20).map(|i| file(&format!("p{i}.html"), "1")).collect();
        assert_eq!(changed_paths(&html, "w b/"), vec!["/w%20b/*"]);
    }
}
