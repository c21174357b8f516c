//! Metrics: the Prometheus recorder and the gRPC method label.

use std::{collections::HashSet, sync::OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder, installed on first use.
///
/// The `metrics` facade is global by design; installing it lazily here (rather than in main)
/// lets in-process tests that build several apps share one recorder.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .expect("static buckets are valid")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours just stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The `method` label of a gRPC call: its path when it names a method this server implements
/// (the platform services, health, reflection), `unknown` otherwise.
///
/// Labelling by the raw path would let any client mint a new time series per made-up path and
/// grow the metrics without bound; the set of real methods is fixed at build time.
pub fn grpc_method_label(path: &str) -> &'static str {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        use prost::Message as _;
        let sets = [
            proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ];
        let mut known = HashSet::new();
        for bytes in sets {
            let set = prost_types::FileDescriptorSet::decode(bytes).expect("descriptor sets compiled in are valid");
            for file in set.file {
                let package = file.package();
                for service in &file.service {
                    for method in &service.method {
                        known.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        known
    });
    known.get(path).map_or("unknown", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::grpc_method_label;

    #[test]
    fn only_served_methods_become_labels() {
        assert_eq!(
            grpc_method_label("/platform.v1.ProjectService/GetProject"),
            "/platform.v1.ProjectService/GetProject"
        );
        assert_eq!(grpc_method_label("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
        assert_eq!(
            grpc_method_label("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        );
        for made_up in
            ["/platform.v1.ProjectService/Nope", "/x.Y/Z", "/", "", "/platform.v1.ProjectService/GetProject/"]
        {
            assert_eq!(grpc_method_label(made_up), "unknown", "{made_up}");
        }
    }
}
