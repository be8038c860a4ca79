//! ECR answered from the bed's registry: what `docker push` stored is what BatchGetImage,
//! DescribeImages and ListImages report; PutImage and BatchDeleteImage write there; tag
//! immutability and ECR's errors hold.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutability, ListImagesFilter, TagStatus};
use deploy_kit_testbed::Bed;
use deploy_kit_testbed::docker::Docker;

fn b64decode(text: &str) -> Vec<u8> {
    // Standard base64, for the one token: avoids a dependency.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut bits, mut n, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// Logs docker in with what ECR hands out, as build-push-ecr does.
pub async fn login(docker: &Docker, ecr: &Client) {
    let auth = ecr.get_authorization_token().send().await.unwrap();
    let data = &auth.authorization_data()[0];
    assert_eq!(
        data.proxy_endpoint(),
        Some(format!("http://{}", docker.registry()).as_str())
    );
    let decoded = String::from_utf8(b64decode(data.authorization_token().unwrap())).unwrap();
    let (user, password) = decoded.split_once(':').unwrap();
    assert_eq!(user, "AWS");
    docker
        .login(user, password)
        .expect("docker login with the ECR token");
}

/// A bed with docker, a repository `name` and the sample app pushed as `name:v1`.
async fn with_pushed(name: &str, mutability: ImageTagMutability) -> (Bed, Docker, Client, String) {
    let bed = Bed::start(&[]).expect("bed");
    let docker = Docker::start(&bed).expect("docker");
    let ecr = Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name(name)
        .image_tag_mutability(mutability)
        .send()
        .await
        .unwrap();
    login(&docker, &ecr).await;
    let image = format!("{}/{name}:v1", docker.registry());
    docker.build_sample_app(&image, "1").unwrap();
    let digest = docker.push(&image).unwrap();
    (bed, docker, ecr, digest)
}

fn tag(tag: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_tag(tag).build()
}

fn code<E: aws_sdk_ecr::error::ProvideErrorMetadata>(err: &E) -> String {
    err.code().unwrap_or_default().to_owned()
}

/// An OCI index over `digest`: a second, different manifest whose blobs all exist.
fn index_over(digest: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"{digest}","size":735,"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#
    )
}

/// DescribeImages of `app` tells the one image docker pushed as `v1`.
async fn assert_described_as_pushed(ecr: &Client, digest: &str) {
    let described = ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let detail = &described.image_details()[0];
    assert_eq!(detail.image_digest(), Some(digest));
    assert_eq!(detail.image_tags(), ["v1"]);
    assert!(
        detail.image_size_in_bytes().unwrap() > 500_000,
        "busybox is in it"
    );
    assert!(detail.image_pushed_at().is_some());
}

#[tokio::test]
async fn ecr_reports_what_docker_pushed() {
    let (_bed, docker, ecr, digest) = with_pushed("app", ImageTagMutability::Mutable).await;
    let repo = ecr.describe_repositories().send().await.unwrap();
    assert_eq!(
        repo.repositories()[0].repository_uri(),
        Some(format!("{}/app", docker.registry()).as_str()),
        "repositoryUri names the registry docker pushes to"
    );

    let got = ecr
        .batch_get_image()
        .repository_name("app")
        .image_ids(tag("v1"))
        .send()
        .await
        .unwrap();
    assert!(got.failures().is_empty(), "{:?}", got.failures());
    let image = &got.images()[0];
    assert_eq!(
        image.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    let manifest = image.image_manifest().unwrap();
    assert!(manifest.contains("layers"), "{manifest}");

    assert_described_as_pushed(&ecr, &digest).await;

    // Promotion by PutImage keeps the digest, and both tags list.
    let put = ecr
        .put_image()
        .repository_name("app")
        .image_tag("staging")
        .image_manifest(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.image().unwrap().image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    let listed = ecr
        .list_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.image_ids().len(), 2);

    // A new build pushed over v1 (mutable) moves the tag; the old image keeps `staging`.
    let image_v1 = format!("{}/app:v1", docker.registry());
    docker.build_sample_app(&image_v1, "2").unwrap();
    let second = docker.push(&image_v1).unwrap();
    assert_ne!(second, digest, "the version is part of the image");
    let deleted = ecr
        .batch_delete_image()
        .repository_name("app")
        .image_ids(tag("staging"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.image_ids()[0].image_digest(), Some(digest.as_str()));
    let untagged = ecr
        .list_images()
        .repository_name("app")
        .filter(
            ListImagesFilter::builder()
                .tag_status(TagStatus::Untagged)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(untagged.image_ids().is_empty(), "deleted: {untagged:?}");
    let tagged = ecr
        .list_images()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.image_ids()[0].image_digest(), Some(second.as_str()));
}

#[tokio::test]
async fn immutable_tags_cannot_be_overwritten() {
    let (_bed, docker, ecr, digest) = with_pushed("frozen", ImageTagMutability::Immutable).await;
    let got = ecr
        .batch_get_image()
        .repository_name("frozen")
        .image_ids(tag("v1"))
        .send()
        .await
        .unwrap();
    let manifest = got.images()[0].image_manifest().unwrap().to_owned();

    let same = ecr
        .put_image()
        .repository_name("frozen")
        .image_tag("v1")
        .image_manifest(&manifest)
        .send()
        .await
        .expect_err("the same image under the same tag");
    assert_eq!(code(&same), "ImageAlreadyExistsException");

    let other = ecr
        .put_image()
        .repository_name("frozen")
        .image_tag("v1")
        .image_manifest(index_over(&digest))
        .send()
        .await
        .expect_err("an immutable tag overwritten");
    assert_eq!(code(&other), "ImageTagAlreadyExistsException");

    // docker push over it is refused too, as ECR refuses it; the same image again is fine.
    let registry = docker.registry();
    docker
        .push(&format!("{registry}/frozen:v1"))
        .expect("the same image again");
    docker
        .build_sample_app(&format!("{registry}/frozen:v1"), "2")
        .unwrap();
    let pushed = docker
        .push(&format!("{registry}/frozen:v1"))
        .expect_err("a new image over an immutable tag");
    assert!(pushed.0.contains("cannot be overwritten"), "{pushed}");

    ecr.put_image()
        .repository_name("frozen")
        .image_tag("v2")
        .image_manifest(index_over(&digest))
        .send()
        .await
        .expect("a new tag is fine");
}

#[tokio::test]
async fn image_calls_fail_like_ecr() {
    let (_bed, docker, ecr, _) = with_pushed("app", ImageTagMutability::Mutable).await;
    // A push needs the repository, as in ECR (build-push-ecr creates it when asked).
    let stray = format!("{}/nope:v1", docker.registry());
    docker.build_sample_app(&stray, "1").unwrap();
    let err = docker
        .push(&stray)
        .expect_err("a push to a repository ECR does not have");
    assert!(err.0.contains("does not exist"), "{err}");

    let unknown = ecr
        .list_images()
        .repository_name("nope")
        .send()
        .await
        .expect_err("unknown repository");
    assert_eq!(code(&unknown), "RepositoryNotFoundException");

    let missing = ecr
        .batch_get_image()
        .repository_name("app")
        .image_ids(tag("never-pushed"))
        .send()
        .await
        .unwrap();
    assert!(missing.images().is_empty());
    assert_eq!(
        missing.failures()[0].failure_code().map(|c| c.as_str()),
        Some("ImageNotFound")
    );
    let described = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(tag("never-pushed"))
        .send()
        .await
        .expect_err("unknown tag");
    assert_eq!(code(&described), "ImageNotFoundException");

    let no_layers = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;
    let err = ecr
        .put_image()
        .repository_name("app")
        .image_tag("ghost")
        .image_manifest(no_layers)
        .send()
        .await
        .expect_err("a manifest over blobs never pushed");
    assert_eq!(code(&err), "LayersNotFoundException");
}
