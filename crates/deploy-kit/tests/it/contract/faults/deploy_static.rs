//! deploy-static under faults: a first deploy (every S3 and CloudFront call it makes) to a
//! fresh prefix per run. Whatever the end, the site must be consistent: every page in the
//! bucket finds the assets it references.

use std::collections::HashMap;
use std::time::Duration;

use super::{Harness, Run, matrix};
use crate::actions::deploy_static::site;

/// A page and its assets: the page is uploaded last and names the assets.
const FILES: &[(&str, &str)] = &[
    (
        "index.html",
        "assets/app-1a2b3c4d.js assets/app-9f8e7d6c.css",
    ),
    ("docs/index.html", "assets/app-1a2b3c4d.js"),
    ("assets/app-1a2b3c4d.js", "console.log(1)"),
    ("assets/app-9f8e7d6c.css", "body{}"),
    ("favicon.ico", "icon"),
];

/// Pages under `prefix` whose assets are missing.
async fn broken_pages(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket("frontend")
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    let mut broken = Vec::new();
    for key in keys.iter().filter(|k| k.ends_with(".html")) {
        let body = s3
            .get_object()
            .bucket("frontend")
            .key(key)
            .send()
            .await
            .unwrap();
        let text = body.body.collect().await.unwrap().into_bytes();
        for asset in String::from_utf8_lossy(&text).split_whitespace() {
            if !keys.contains(&format!("{prefix}{asset}")) {
                broken.push(format!("{key} -> {asset}"));
            }
        }
    }
    broken
}

#[tokio::test]
async fn deploy_static_under_faults() {
    let site = site().await;
    let source = site.build(FILES);
    let source = source.display().to_string();
    let mut h = Harness::on_bed("deploy-static", &site.bed, false, Duration::from_secs(90))
        .with_env("DEPLOY_KIT_TIME_SCALE", "0.05");
    let inputs = |prefix: &'static str| {
        vec![
            ("source", source.clone()),
            ("bucket", "frontend".to_owned()),
            ("prefix", prefix.to_owned()),
            ("distribution-id", site.distribution.clone()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { v.clone() };
    let normalize = |run: &Run| {
        let mut outputs = run.outputs.clone();
        outputs.remove("url");
        // A new id per run; that there is one is what counts.
        let id = outputs.remove("invalidation-id").unwrap_or_default();
        outputs.insert("invalidated".to_owned(), (!id.is_empty()).to_string());
        outputs
    };
    let base = as_refs(&inputs("base/"));
    let base: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let expected: HashMap<String, String> = normalize(&h.baseline(&base));
    assert_eq!(expected["uploaded"], "5", "{expected:?}");
    // Each run to its own prefix, so each is a first deploy with the same expected outputs.
    const PREFIXES: [&str; 12] = [
        "f0/", "f1/", "f2/", "f3/", "f4/", "f5/", "f6/", "f7/", "f8/", "f9/", "f10/", "f11/",
    ];
    for (n, (rate, seed)) in matrix(11).into_iter().enumerate() {
        let prefix = PREFIXES[n % PREFIXES.len()];
        let owned = inputs(prefix);
        let run_inputs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        h.faults(rate, seed);
        let run = h.run(&run_inputs);
        // Read straight from the bed, not through the proxy.
        let left = broken_pages(&site.s3, prefix).await;
        h.judge(&run, &expected, normalize, &left, (rate, seed));
    }
    h.finish();
}
