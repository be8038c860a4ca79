//! deploy-static refusing and interrupted: a dry run writes nothing, bad input exits 2 before
//! any write, and SIGTERM (during the invalidation wait or at any moment) leaves every page with
//! its assets.

use super::*;

#[tokio::test]
async fn dry_run_plans_and_writes_nothing() {
    let site = site().await;
    site.reset_events();
    let run = site.run(&site.build(V1), &[("dry-run", "true")]);
    run.assert_code(0);
    assert_eq!(run.output("uploaded"), "6");
    run.assert_logged("upload assets/app-1a2b3c4d.js");
    assert!(site.events().is_empty(), "{:?}", site.events());
    assert!(site.head("index.html").await.is_none());
}

#[tokio::test]
async fn bad_input_exits_2_before_anything_is_written() {
    let site = site().await;
    site.s3
        .create_bucket()
        .bucket("frontend-eu")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let good = site.build(V1);
    let empty = site.build(&[]);
    // (case, source, inputs, the input the error must name)
    type Case<'a> = (&'a str, PathBuf, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing folder",
            site.dir.path().join("no-such-build"),
            vec![],
            "input `source`",
        ),
        ("empty build", empty, vec![], "input `source`"),
        (
            "bucket elsewhere",
            good.clone(),
            vec![("bucket", "frontend-eu")],
            "input `bucket`",
        ),
        (
            "no such bucket",
            good.clone(),
            vec![("bucket", "no-such-bucket")],
            "input `bucket`",
        ),
        (
            "no such distribution",
            good.clone(),
            vec![("distribution-id", "E0000000000000")],
            "input `distribution-id`",
        ),
        (
            "bad rule",
            good,
            vec![("cache-control", "[=x")],
            "input `cache-control`",
        ),
    ];
    site.reset_events();
    for (name, source, inputs, named) in cases {
        let run = site.run(&source, &inputs);
        assert_eq!(run.code, Some(2), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(named), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
    }
    assert!(site.events().is_empty(), "written: {:?}", site.events());
}

/// SIGTERM while the invalidation is awaited: exit 143, the new release live, stale files left
/// for the next run, and the message says so.
#[tokio::test]
async fn cancel_during_the_invalidation_wait_leaves_the_new_release_live() {
    let site = site().await;
    let run = site.run(&site.build(V1), &[("keep-previous", "0")]);
    run.assert_code(0);
    // 200 s x 0.05: the wait lasts 10 s.
    let (status, body) = site
        .bed
        .post("/_bed/static-site", r#"{"invalidationSeconds": 200}"#)
        .unwrap();
    assert_eq!(status, 200, "{body}");
    site.reset_events();
    let running = site
        .invocation(&site.build(V2), &[("keep-previous", "0")])
        .spawn();
    let started = std::time::Instant::now();
    while !site.events().iter().any(|e| e.op == "CreateInvalidation") {
        assert!(
            started.elapsed().as_secs() < 20,
            "no invalidation: {:?}",
            site.events()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    running.signal("TERM");
    let run = running.wait();
    let log = &run.stderr;
    assert_eq!(run.code, Some(143), "{log}");
    assert!(
        log.contains("new release is live") && log.contains("not deleted"),
        "{log}"
    );
    assert!(
        site.events().iter().all(|e| e.op != "DeleteObjects"),
        "{:?}",
        site.events()
    );
    assert!(site.head("assets/app-5e6f7a8b.js").await.is_some());
    assert!(
        site.head("robots.txt").await.is_some(),
        "stale files wait for the next run"
    );
}

/// SIGTERM at spread-out moments of a deploy with many assets: whatever the moment, every page
/// in the bucket finds its script (old pages theirs, new pages theirs).
#[tokio::test]
async fn cancel_at_any_moment_leaves_every_page_with_its_assets() {
    let site = site().await;
    for (n, delay_ms) in [50u64, 150, 300, 600, 1000].into_iter().enumerate() {
        let script = format!("assets/app-{n:08}.js");
        let mut files: Vec<(String, String)> = (0..60)
            .map(|i| {
                (
                    format!("assets/chunk-{n}{i:07}.js"),
                    format!("chunk {n} {i}"),
                )
            })
            .collect();
        files.push((script.clone(), format!("release {n}")));
        files.push(("index.html".to_owned(), script.clone()));
        files.push(("docs/index.html".to_owned(), script.clone()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let running = site
            .invocation(&site.build(&refs), &[("concurrency", "2")])
            .spawn();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        running.signal("TERM");
        let run = running.wait();
        assert!(
            matches!(run.code, Some(0 | 143)),
            "{:?}: {}",
            run.code,
            run.stderr
        );
        for page in ["index.html", "docs/index.html"] {
            let Ok(object) = site.s3.get_object().bucket(BUCKET).key(page).send().await else {
                continue; // not deployed yet: nothing to break
            };
            let body = object.body.collect().await.unwrap().into_bytes();
            let wanted = String::from_utf8_lossy(&body).into_owned();
            assert!(
                site.head(&wanted).await.is_some(),
                "after {delay_ms} ms: {page} names {wanted}, which is missing"
            );
        }
    }
}
