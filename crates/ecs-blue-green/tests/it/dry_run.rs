use deploy_kit_ecs_blue_green::dry_run::diff;
use serde_json::json;

#[test]
fn the_diff_matches_containers_by_name_and_skips_what_ecs_filled_in() {
    let live = json!({"containerDefinitions": [
        {"name": "log", "image": "fluent:1", "cpu": 0, "essential": true},
        {"name": "web", "image": "api:1", "cpu": 0, "essential": true, "memory": 512},
    ]});
    // The file leaves cpu and essential to ECS, lists the containers the other way round, and
    // changes web's image and drops its memory.
    let file = json!({"containerDefinitions": [
        {"name": "web", "image": "api:2"},
        {"name": "log", "image": "fluent:1"},
    ]});
    let lines: Vec<String> = diff(&live, &file).iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "~ containerDefinitions[web].image: \"api:1\" -> \"api:2\"",
            "- containerDefinitions[web].memory: 512",
        ]
    );
    // A value other than ECS's default, left out of the file, is still a change.
    let live = json!({"containerDefinitions": [{"name": "web", "cpu": 256, "essential": false}]});
    let file = json!({"containerDefinitions": [{"name": "web"}]});
    let lines: Vec<String> = diff(&live, &file).iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "- containerDefinitions[web].cpu: 256",
            "- containerDefinitions[web].essential: false",
        ]
    );
}
