"""Stand-alone programs around the bed, none of which runs inside the server: act, the demo
cluster, the docker engine and registry, the buildx stand-in, the fault proxy and step summaries
(`python -m bed.tools.<name>`, run from tests/bed)."""
