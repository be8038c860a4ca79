//! `deploy-kit deploy-static` against the bed's S3 and CloudFront (moto, with the
//! `static_site` plug-in: invalidations in progress for a while, the order of S3 writes).
//! Invalidations take 20 s at scale 1; here 1 s (`time-scale` 0.05).

use std::path::{Path, PathBuf};

use aws_sdk_cloudfront::types::{
    DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig, ViewerProtocolPolicy,
};
use deploy_kit_testbed::binary::Invocation;
pub(crate) use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::{Bed, Component};
// A dry run, bad input, and SIGTERM at any moment: nothing broken, nothing half-done.
mod guards;

const SCALE: f64 = 0.05;
const BUCKET: &str = "frontend";

pub(crate) struct Site {
    pub(crate) bed: Bed,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) distribution: String,
    dir: tempfile::TempDir,
}

/// One S3 write or invalidation event, as the bed saw it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    t: f64,
    op: String,
    key: String,
}

/// A bed with bucket `frontend` (us-east-1) and a distribution in front of it.
pub(crate) async fn site() -> Site {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    bed.time_scale(SCALE).unwrap();
    let config = bed.sdk_config().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let cf = aws_sdk_cloudfront::Client::new(&config);
    let origin = Origin::builder()
        .id("site")
        .domain_name(format!("{BUCKET}.s3.us-east-1.amazonaws.com"))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .unwrap();
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id("site")
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        .caller_reference("deploy-static-test")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(behavior)
        .default_root_object("index.html")
        .comment("frontend")
        .enabled(true)
        .build()
        .unwrap();
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    let distribution = out.distribution().unwrap().id().to_owned();
    Site {
        bed,
        s3,
        distribution,
        dir: tempfile::tempdir().unwrap(),
    }
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Site {
    /// A fresh build folder (every file new, as in CI) with these files.
    pub(crate) fn build(&self, files: &[(&str, &str)]) -> PathBuf {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = self.dir.path().join(format!("build{n}"));
        std::fs::create_dir_all(&root).unwrap();
        for (path, content) in files {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        root
    }

    /// deploy-static of `source` to the bucket and distribution, as a job runs it.
    pub(crate) fn invocation(&self, source: &Path, inputs: &[(&str, &str)]) -> Invocation {
        crate::deploy_kit()
            .action("deploy-static")
            .bed(&self.bed)
            .time_scale(SCALE)
            .runner_files()
            .input("source", source)
            .input("bucket", BUCKET)
            .input("distribution-id", &self.distribution)
            .inputs(inputs)
    }

    pub(crate) fn run(&self, source: &Path, inputs: &[(&str, &str)]) -> Run {
        self.invocation(source, inputs).run()
    }

    /// The S3 writes and invalidation events since the last reset, in order.
    pub(crate) fn events(&self) -> Vec<Event> {
        let (status, body) = self.bed.get("/_bed/static-site").unwrap();
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Event {
                t: e["t"].as_f64().unwrap(),
                op: e["op"].as_str().unwrap().to_owned(),
                key: e["key"].as_str().unwrap().to_owned(),
            })
            .collect()
    }

    pub(crate) fn reset_events(&self) {
        let (status, body) = self
            .bed
            .post("/_bed/static-site", r#"{"reset": true}"#)
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    async fn head(&self, key: &str) -> Option<(String, String, String)> {
        let head = self
            .s3
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        Some((
            head.content_type().unwrap_or_default().to_owned(),
            head.cache_control().unwrap_or_default().to_owned(),
            head.e_tag().unwrap_or_default().to_owned(),
        ))
    }
}

fn puts(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.op == "PutObject")
        .map(|e| e.key.as_str())
        .collect()
}

const V1: &[(&str, &str)] = &[
    (
        "index.html",
        "<script src=/assets/app-1a2b3c4d.js></script>",
    ),
    ("about/index.html", "<h1>about</h1>"),
    ("assets/app-1a2b3c4d.js", "console.log(1)"),
    ("assets/app-9f8e7d6c.css", "body{}"),
    ("favicon.ico", "icon"),
    ("robots.txt", "User-agent: *"),
];

/// v1 with a new script (and the page that loads it); robots.txt and the old script gone.
const V2: &[(&str, &str)] = &[
    (
        "index.html",
        "<script src=/assets/app-5e6f7a8b.js></script>",
    ),
    ("about/index.html", "<h1>about</h1>"),
    ("assets/app-5e6f7a8b.js", "console.log(2)"),
    ("assets/app-9f8e7d6c.css", "body{}"),
    ("favicon.ico", "icon"),
];

/// v2 with a third script.
const V3: &[(&str, &str)] = &[
    (
        "index.html",
        "<script src=/assets/app-7c7c7c7c.js></script>",
    ),
    ("about/index.html", "<h1>about</h1>"),
    ("assets/app-7c7c7c7c.js", "console.log(3)"),
    ("assets/app-9f8e7d6c.css", "body{}"),
    ("favicon.ico", "icon"),
];

/// Asserts every asset PUT came before the first HTML PUT, and returns that HTML PUT's time.
fn assert_assets_before_html(events: &[Event]) -> f64 {
    let first_html = events
        .iter()
        .filter(|e| e.op == "PutObject" && e.key.ends_with(".html"))
        .map(|e| e.t)
        .fold(f64::INFINITY, f64::min);
    let last_asset = events
        .iter()
        .filter(|e| {
            e.op == "PutObject" && !e.key.ends_with(".html") && !e.key.contains(".deploy-kit/")
        })
        .map(|e| e.t)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(
        last_asset <= first_html,
        "an asset went after HTML: {events:?}"
    );
    first_html
}

/// When the first `op` event happened.
fn first_at(events: &[Event], op: &str) -> Option<f64> {
    events.iter().find(|e| e.op == op).map(|e| e.t)
}

/// v1's files carry the headers each kind of file needs: immutable assets, HTML never cached.
async fn assert_v1_headers(site: &Site) {
    for (key, content_type, cache_control) in [
        (
            "assets/app-1a2b3c4d.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        (
            "robots.txt",
            "text/plain; charset=utf-8",
            "public, max-age=300",
        ),
    ] {
        let (got_type, got_cache, _) = site.head(key).await.unwrap();
        assert_eq!(
            (got_type.as_str(), got_cache.as_str()),
            (content_type, cache_control),
            "{key}"
        );
    }
}

#[tokio::test]
async fn only_what_changed_assets_before_html_deletions_after_the_invalidation() {
    let site = site().await;
    crate::contract::iam::reset(&site.bed);

    // First deploy: everything, with the headers each kind of file needs.
    let run = site.run(&site.build(V1), &[]);
    run.assert_code(0);
    let counts = ["uploaded", "unchanged", "deleted"].map(|name| run.output(name));
    assert_eq!(counts, ["6", "0", "0"]);
    let bytes: usize = V1.iter().map(|(_, c)| c.len()).sum();
    assert_eq!(run.output("bytes"), bytes.to_string());
    assert!(
        run.output("url").starts_with("https://") && run.output("url").contains("cloudfront.net"),
        "{}",
        run.output("url")
    );
    assert!(!run.output("invalidation-id").is_empty());
    let events = site.events();
    assert_assets_before_html(&events);
    assert_v1_headers(&site).await;
    crate::contract::iam::assert_allowed(&site.bed, "deploy-static");

    // A fresh build (new mtimes) of v2: only the new script and the page that loads it go up;
    // the invalidation names that page's URLs only; v1's leftovers are kept (keep-previous 1).
    site.reset_events();
    let run = site.run(&site.build(V2), &[]);
    run.assert_code(0);
    assert_eq!(
        (
            run.output("uploaded"),
            run.output("unchanged"),
            run.output("deleted")
        ),
        ("2", "3", "0")
    );
    let events = site.events();
    assert_eq!(
        puts(&events),
        vec![
            "assets/app-5e6f7a8b.js",
            "index.html",
            ".deploy-kit/releases.json"
        ]
    );
    let invalidation: Vec<&Event> = events
        .iter()
        .filter(|e| e.op == "CreateInvalidation")
        .collect();
    assert_eq!(invalidation.len(), 1, "{events:?}");
    assert_eq!(invalidation[0].key, "/ /index.html");
    assert!(
        site.head("robots.txt").await.is_some(),
        "kept for the previous release"
    );
    assert!(run.summary.contains("Invalidation"), "{}", run.summary);

    // The same v2, rebuilt: nothing written at all, not even a new release record (which
    // would push v1 out of keep-previous early), and nothing to invalidate.
    site.reset_events();
    let run = site.run(&site.build(V2), &[]);
    run.assert_code(0);
    assert_eq!(
        (run.output("uploaded"), run.output("unchanged")),
        ("0", "5")
    );
    assert_eq!(run.output("invalidation-id"), "");
    assert!(site.events().is_empty(), "{:?}", site.events());

    // v3: v1's files (no longer in the last release) go, after the new HTML is live and the
    // invalidation completed; v2's script stays for clients still on v2's page.
    site.reset_events();
    let run = site.run(&site.build(V3), &[]);
    run.assert_code(0);
    assert_eq!(run.output("deleted"), "2");
    let events = site.events();
    let html_at = assert_assets_before_html(&events);
    let completed = first_at(&events, "InvalidationCompleted");
    let deleted = first_at(&events, "DeleteObjects").unwrap();
    assert!(deleted > html_at, "{events:?}");
    assert!(
        completed.is_some_and(|c| deleted >= c),
        "deleted before the invalidation completed: {events:?}"
    );
    assert!(site.head("robots.txt").await.is_none());
    assert!(site.head("assets/app-1a2b3c4d.js").await.is_none());
    assert!(
        site.head("assets/app-5e6f7a8b.js").await.is_some(),
        "v2's script kept"
    );
    assert!(site.head("assets/app-7c7c7c7c.js").await.is_some());
}

#[tokio::test]
async fn headers_another_tool_set_wrong_are_fixed_and_right_ones_left() {
    let site = site().await;
    // As `aws s3 sync` leaves them: right content, no Cache-Control.
    for (key, body, cache) in [
        ("index.html", "<p>hi</p>", None),
        (
            "app-1a2b3c4d.js",
            "x",
            Some("public, max-age=31536000, immutable"),
        ),
    ] {
        let mut put = site
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.as_bytes().to_vec().into());
        put = put.content_type(if key.ends_with(".html") {
            "text/html"
        } else {
            "text/javascript; charset=utf-8"
        });
        if let Some(cache) = cache {
            put = put.cache_control(cache);
        }
        put.send().await.unwrap();
    }
    site.reset_events();
    let run = site.run(
        &site.build(&[("index.html", "<p>hi</p>"), ("app-1a2b3c4d.js", "x")]),
        &[],
    );
    run.assert_code(0);
    assert_eq!(
        (run.output("uploaded"), run.output("unchanged")),
        ("1", "1")
    );
    assert_eq!(
        puts(&site.events()),
        vec!["index.html", ".deploy-kit/releases.json"]
    );
    assert_eq!(site.head("index.html").await.unwrap().1, "no-cache");
}
