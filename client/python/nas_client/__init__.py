"""A small Python client for the NAS service's ExperimentService.

The gRPC stubs (package ``nas.v1``) are generated from ``proto/`` at build
time into ``<build dir>/python``; put that directory and this one
(``client/python``) on ``PYTHONPATH``. Needs Debian's ``python3-grpcio`` and
``python3-protobuf``.

    from nas_client import Client
    client = Client("127.0.0.1:50051")
    experiment = client.submit(open("spec.yaml").read())
    for event in client.watch(experiment.id):
        print(event.message)
    for candidate in client.pareto_front(experiment.id).front:
        print(candidate.id, candidate.metrics.val_accuracy)

Connection settings default to the same environment variables as nasctl:
NAS_CONTROLLER, NAS_TLS, NAS_TLS_CA, NAS_TLS_SERVER_NAME, NAS_TOKEN,
NAS_TOKEN_FILE. Errors are raised as ``grpc.RpcError`` with the server's
status code and message (e.g. INVALID_ARGUMENT naming the spec field).
A Client is safe to share between threads (gRPC channels are).
"""

import os

import grpc

from nas.v1 import experiment_pb2
from nas.v1 import experiment_pb2_grpc

__all__ = ["Client", "check_utf8", "experiment_pb2"]


def check_utf8(field, text):
    """Returns `text` as str when it is valid UTF-8 (bytes are decoded);
    else raises ValueError naming `field`, the line and the byte."""
    if isinstance(text, str):
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError as e:  # lone surrogates (surrogateescape)
            bad, start = text, e.start
            line = bad.count("\n", 0, start) + 1
            raise ValueError(f"{field}: line {line}: invalid UTF-8 "
                             f"(character {start}); the spec must be "
                             "UTF-8 text") from None
    try:
        return bytes(text).decode("utf-8")
    except UnicodeDecodeError as e:
        line = bytes(text).count(b"\n", 0, e.start) + 1
        raise ValueError(f"{field}: line {line}: invalid UTF-8 (byte "
                         f"0x{text[e.start]:02X} at offset {e.start}); the "
                         "spec must be UTF-8 text") from None


def _env(name):
    value = os.environ.get(name, "")
    return value or None


class Client:
    """Calls ExperimentService on one controller."""

    def __init__(self, controller=None, *, tls=None, tls_ca=None,
                 tls_server_name=None, token=None, token_file=None,
                 timeout=30.0):
        controller = controller or _env("NAS_CONTROLLER") or "127.0.0.1:50051"
        tls_ca = tls_ca or _env("NAS_TLS_CA")
        if tls is None:
            tls = (_env("NAS_TLS") or "") in ("1", "true", "yes")
        tls_server_name = tls_server_name or _env("NAS_TLS_SERVER_NAME")
        token = token or _env("NAS_TOKEN")
        token_file = token_file or _env("NAS_TOKEN_FILE")
        if not token and token_file:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
            if not token:
                raise ValueError(f"token_file: {token_file!r} is empty")
        options = [("grpc.max_receive_message_length", 256 << 20)]
        if tls or tls_ca:
            roots = None
            if tls_ca:
                with open(tls_ca, "rb") as f:
                    roots = f.read()
            if tls_server_name:
                options.append(("grpc.ssl_target_name_override",
                                tls_server_name))
            creds = grpc.ssl_channel_credentials(root_certificates=roots)
            self._channel = grpc.secure_channel(controller, creds, options)
        else:
            self._channel = grpc.insecure_channel(controller, options)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._timeout = timeout
        self._stub = experiment_pb2_grpc.ExperimentServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, timeout=None):
        return method(request, timeout=timeout or self._timeout,
                      metadata=self._metadata)

    def submit(self, spec_yaml):
        """Creates an experiment from YAML text (str, or UTF-8 bytes);
        returns the Experiment. Text that is not valid UTF-8 raises
        ValueError naming the line before anything is sent (the server
        could only answer with protobuf's own parse error)."""
        spec_yaml = check_utf8("spec_yaml", spec_yaml)
        return self._call(
            self._stub.CreateExperiment,
            experiment_pb2.CreateExperimentRequest(spec_yaml=spec_yaml))

    def get(self, experiment_id):
        return self._call(self._stub.GetExperiment,
                          experiment_pb2.GetExperimentRequest(id=experiment_id))

    def list(self, page_size=50):
        return self._call(
            self._stub.ListExperiments,
            experiment_pb2.ListExperimentsRequest(page_size=page_size)
        ).experiments

    def watch(self, experiment_id):
        """Yields ExperimentEvents: a snapshot first, the last one in which
        the experiment reached a final state."""
        yield from self._stub.WatchExperiment(
            experiment_pb2.WatchExperimentRequest(id=experiment_id),
            metadata=self._metadata)

    def candidates(self, experiment_id, state=None, order_by="seq",
                   page_size=1000, **filters):
        """Yields every candidate, page by page. `state` is a
        CandidateState name such as "EVALUATED" (None: all); `filters` are
        ListCandidatesRequest's min_val_accuracy, max_macs, max_params,
        max_latency_ms."""
        request = experiment_pb2.ListCandidatesRequest(
            experiment_id=experiment_id, order_by=order_by,
            page_size=page_size, **filters)
        if state:
            request.state = experiment_pb2.CandidateState.Value(
                "CANDIDATE_" + state)
        while True:
            page = self._call(self._stub.ListCandidates, request)
            yield from page.candidates
            if not page.next_page_token or not page.candidates:
                return
            request.page_token = page.next_page_token

    def pareto_front(self, experiment_id, minimize=()):
        """GetParetoFrontResponse: .front (by descending val_accuracy) and
        .objectives."""
        return self._call(
            self._stub.GetParetoFront,
            experiment_pb2.GetParetoFrontRequest(
                experiment_id=experiment_id, minimize=list(minimize)))

    def stop(self, experiment_id):
        return self._call(self._stub.StopExperiment,
                          experiment_pb2.StopExperimentRequest(id=experiment_id))

    def export(self, experiment_id, candidate_id, path):
        """Writes the candidate's TorchScript model to `path`; returns the
        ExportCandidateResponse without its bytes."""
        response = self._call(
            self._stub.ExportCandidate,
            experiment_pb2.ExportCandidateRequest(
                experiment_id=experiment_id, candidate_id=candidate_id),
            timeout=120)
        with open(path, "wb") as f:
            f.write(response.torchscript)
        response.ClearField("torchscript")
        return response
