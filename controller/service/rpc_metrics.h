// A gRPC server interceptor that times every RPC the controller serves
// (health and reflection included) into ControllerMetrics::ObserveRpc, as
// `nas_rpc_duration_seconds{method,code}`. Transport glue only; the label
// values are bounded by the registered methods and the 17 status codes.
#ifndef NAS_CONTROLLER_SERVICE_RPC_METRICS_H_
#define NAS_CONTROLLER_SERVICE_RPC_METRICS_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "controller/metrics.h"

namespace nas {

// `metrics` must outlive the server the factory is installed in.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeRpcMetricsInterceptorFactory(ControllerMetrics* metrics);

}  // namespace nas

#endif  // NAS_CONTROLLER_SERVICE_RPC_METRICS_H_
