"""nas_client: a typed Python client for the NAS service's ExperimentService.

    from nas_client import Client, ExperimentState, NotFound

    with Client("127.0.0.1:50051") as client:
        experiment = client.submit(open("spec.yaml").read())
        for event in client.watch(experiment.id):
            print(event.message)
        if client.get(experiment.id).state is ExperimentState.SUCCEEDED:
            for c in client.candidates(experiment.id, state="EVALUATED"):
                print(c.id, c.state, c.metrics.val_accuracy)

Results are typed views over the nas.v1 messages (nas_client.messages:
``.proto`` is the message) with enum fields as nas_client.enums members.
Errors are nas_client.errors classes, one per gRPC status code (NotFound,
InvalidArgument with ``.field``, Unavailable, ...), all NasError. Listings
(list_experiments, candidates, learning_curves) page lazily.

Connection settings default to the environment variables nasctl reads:
NAS_CONTROLLER, NAS_TLS, NAS_TLS_CA, NAS_TLS_SERVER_NAME, NAS_TOKEN,
NAS_TOKEN_FILE. A Client is safe to share between threads.

Installed with pip from the build tree (build/python-package) or the wheel
``ninja nas_python_wheel`` writes (docs/USER_GUIDE.md, "The Python
client"); the generated stubs (package nas.v1) ship with it.
"""

from nas.v1 import experiment_pb2

from nas_client._client import Client, check_utf8
from nas_client.enums import CandidateState, EvaluationMode, ExperimentState
from nas_client.errors import (Aborted, AlreadyExists, Cancelled, DataLoss,
                               DeadlineExceeded, FailedPrecondition, Internal,
                               InvalidArgument, NasError, NotFound, OutOfRange,
                               PermissionDenied, ResourceExhausted,
                               Unauthenticated, Unavailable, Unimplemented,
                               Unknown)
from nas_client.messages import (Candidate, Experiment, ExperimentEvent,
                                 LearningCurve, Page, ParetoFront)

try:  # written by the build (CMake) into the package it assembles
    from nas_client._version import __version__
except ImportError:  # a source checkout on PYTHONPATH
    __version__ = "0+source"

__all__ = [
    "Aborted", "AlreadyExists", "Candidate", "CandidateState", "Cancelled",
    "Client", "DataLoss", "DeadlineExceeded", "EvaluationMode", "Experiment",
    "ExperimentEvent", "ExperimentState", "FailedPrecondition", "Internal",
    "InvalidArgument", "LearningCurve", "NasError", "NotFound", "OutOfRange",
    "Page", "ParetoFront", "PermissionDenied", "ResourceExhausted",
    "Unauthenticated", "Unavailable", "Unimplemented", "Unknown",
    "__version__", "check_utf8", "experiment_pb2",
]
