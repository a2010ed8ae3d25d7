//! Compiles the protobuf contracts in `proto/` with protox (a pure-Rust protobuf
//! compiler), so no system `protoc` is needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/contactkpi/v1/events.proto",
        "proto/contactkpi/v1/aggregates.proto",
    ];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new()
        // Aggregates and alerts are also published as JSON with the same field names.
        .type_attribute(
            ".contactkpi.v1.KpiAggregate",
            "#[derive(serde::Serialize, serde::Deserialize)]",
        )
        .type_attribute(
            ".contactkpi.v1.OrdinalCounts",
            "#[derive(serde::Serialize, serde::Deserialize)]",
        )
        .type_attribute(
            ".contactkpi.v1.KpiAlert",
            "#[derive(serde::Serialize, serde::Deserialize)]",
        )
        .btree_map([".contactkpi.v1.KpiAggregate.empathy_by_ordinal"])
        .compile_fds(descriptors)?;
    Ok(())
}
