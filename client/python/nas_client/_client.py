"""Client: calls ExperimentService on one controller.

A Client is safe to share between threads (gRPC channels are). Every failed
call raises a nas_client.errors.NasError subclass (NotFound,
InvalidArgument, Unavailable, ...), never a bare grpc.RpcError. Listings
are lazy iterators over every page (``*_page`` methods return one page).
"""

from __future__ import annotations

import builtins
import os
from typing import (Any, Callable, Iterator, Optional, Sequence, TypeVar,
                    Union)

import grpc

from nas.v1 import experiment_pb2
from nas.v1 import experiment_pb2_grpc

from nas_client.enums import CandidateState
from nas_client.errors import error_from_rpc
from nas_client.messages import (Candidate, Experiment, ExperimentEvent,
                                 LearningCurve, Page, ParetoFront)

__all__ = ["Client", "check_utf8"]

T = TypeVar("T")


def check_utf8(field: str, text: Union[str, bytes, bytearray]) -> str:
    """Returns `text` as str when it is valid UTF-8 (bytes are decoded);
    else raises ValueError naming `field`, the line and the byte."""
    if isinstance(text, str):
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError as e:  # lone surrogates (surrogateescape)
            line = text.count("\n", 0, e.start) + 1
            raise ValueError(f"{field}: line {line}: invalid UTF-8 "
                             f"(character {e.start}); the spec must be "
                             "UTF-8 text") from None
    data = bytes(text)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{field}: line {line}: invalid UTF-8 (byte "
                         f"0x{data[e.start]:02X} at offset {e.start}); the "
                         "spec must be UTF-8 text") from None


def _env(name: str) -> Optional[str]:
    return os.environ.get(name, "") or None


def _candidate_state(state: Union[CandidateState, int, str, None]) -> int:
    if state is None:
        return 0
    if isinstance(state, str):
        name = state.upper()
        if name.startswith("CANDIDATE_"):  # the proto name
            name = name[len("CANDIDATE_"):]
        try:
            return int(CandidateState[name])
        except KeyError:
            raise ValueError(
                f"state: unknown candidate state {state!r} (one of "
                f"{', '.join(s.name for s in CandidateState)})") from None
    return int(CandidateState(state))


class Client:
    """Calls ExperimentService on one controller.

    Connection settings default to the environment variables nasctl reads:
    NAS_CONTROLLER (default "127.0.0.1:50051"), NAS_TLS=1, NAS_TLS_CA,
    NAS_TLS_SERVER_NAME, NAS_TOKEN, NAS_TOKEN_FILE. `timeout` (seconds)
    bounds each unary call; watch() has no deadline. Use as a context
    manager, or call close().
    """

    def __init__(self, controller: Optional[str] = None, *,
                 tls: Optional[bool] = None, tls_ca: Optional[str] = None,
                 tls_server_name: Optional[str] = None,
                 token: Optional[str] = None,
                 token_file: Optional[str] = None,
                 timeout: float = 30.0) -> None:
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
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", 256 << 20)]
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
        self._metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {token}"),) if token else ())
        self._timeout = timeout
        self._stub = experiment_pb2_grpc.ExperimentServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, name: str, request: Any,
              timeout: Optional[float] = None) -> Any:
        method: Callable[..., Any] = getattr(self._stub, name)
        try:
            return method(request, timeout=timeout or self._timeout,
                          metadata=self._metadata)
        except grpc.RpcError as e:
            raise error_from_rpc(e, name) from e

    # --- experiments ---------------------------------------------------

    def submit(self, spec_yaml: Union[str, bytes]) -> Experiment:
        """Creates an experiment from YAML text (str, or UTF-8 bytes) and
        starts its search. Text that is not valid UTF-8 raises ValueError
        naming the line before anything is sent; a spec the controller
        refuses raises InvalidArgument with .field naming the field."""
        text = check_utf8("spec_yaml", spec_yaml)
        return Experiment(self._call(
            "CreateExperiment",
            experiment_pb2.CreateExperimentRequest(spec_yaml=text)))

    def get(self, experiment_id: int) -> Experiment:
        """The experiment; NotFound when there is none with that id."""
        return Experiment(self._call(
            "GetExperiment",
            experiment_pb2.GetExperimentRequest(id=experiment_id)))

    def experiments_page(self, page_size: int = 50,
                         page_token: str = "") -> Page[Experiment]:
        """One page of ListExperiments (the server caps page_size at 100)."""
        r = self._call(
            "ListExperiments", experiment_pb2.ListExperimentsRequest(
                page_size=page_size, page_token=page_token))
        return Page([Experiment(e) for e in r.experiments],
                    r.next_page_token, None, r)

    def list_experiments(self, page_size: int = 50) -> Iterator[Experiment]:
        """Every experiment, fetching pages of `page_size` as iteration
        reaches them."""
        return _pages(lambda token: self.experiments_page(page_size, token))

    def list(self, page_size: int = 50) -> builtins.list[Experiment]:
        """Every experiment (all pages), as a list."""
        return builtins.list(self.list_experiments(page_size))

    def watch(self, experiment_id: int) -> Iterator[ExperimentEvent]:
        """Yields ExperimentEvents: a snapshot first, the last one in which
        the experiment reached a final state. No deadline; a broken stream
        raises (Unavailable, ...)."""
        stream = self._stub.WatchExperiment(
            experiment_pb2.WatchExperimentRequest(id=experiment_id),
            metadata=self._metadata)
        try:
            for event in stream:
                yield ExperimentEvent(event)
        except grpc.RpcError as e:
            raise error_from_rpc(e, "WatchExperiment") from e
        finally:
            stream.cancel()

    def stop(self, experiment_id: int) -> Experiment:
        """Stops proposing and cancels queued trials; stopping a finished
        experiment changes nothing and returns it."""
        return Experiment(self._call(
            "StopExperiment",
            experiment_pb2.StopExperimentRequest(id=experiment_id)))

    def extend(self, experiment_id: int, *, max_trials: Optional[int] = None,
               max_simulated_seconds: Optional[float] = None) -> Experiment:
        """Raises the budget and runs the experiment again if it had ended
        SUCCEEDED or STOPPED. InvalidArgument when a new budget is not above
        what was already spent, FailedPrecondition for a FAILED experiment.
        Needs at least one of the two budgets (resume() takes none)."""
        if max_trials is None and max_simulated_seconds is None:
            raise ValueError("extend: give max_trials and/or "
                             "max_simulated_seconds (resume() continues a "
                             "STOPPED experiment without a new budget)")
        return Experiment(self._call(
            "ExtendExperiment", experiment_pb2.ExtendExperimentRequest(
                id=experiment_id, max_trials=max_trials or 0,
                max_simulated_seconds=max_simulated_seconds or 0.0)))

    def resume(self, experiment_id: int) -> Experiment:
        """Runs a STOPPED experiment again with its budget unchanged."""
        return Experiment(self._call(
            "ExtendExperiment",
            experiment_pb2.ExtendExperimentRequest(id=experiment_id)))

    # --- candidates ----------------------------------------------------

    def candidates_page(
            self, experiment_id: int,
            state: Union[CandidateState, int, str, None] = None,
            order_by: str = "seq", page_size: int = 1000,
            page_token: str = "", *, min_val_accuracy: float = 0.0,
            max_macs: int = 0, max_params: int = 0,
            max_latency_ms: float = 0.0) -> Page[Candidate]:
        """One page of ListCandidates; .total counts every match. `state`:
        a CandidateState, or its name ("EVALUATED"); None: all. order_by:
        "seq", "val_accuracy", "objective", "macs", "params",
        "latency_ms", ... ("-" prefix: descending). Filters of 0 are off."""
        r = self._call("ListCandidates", experiment_pb2.ListCandidatesRequest(
            experiment_id=experiment_id, state=_candidate_state(state),
            order_by=order_by, page_size=page_size, page_token=page_token,
            min_val_accuracy=min_val_accuracy, max_macs=max_macs,
            max_params=max_params, max_latency_ms=max_latency_ms))
        return Page([Candidate(c) for c in r.candidates], r.next_page_token,
                    r.total, r)

    def candidates(
            self, experiment_id: int,
            state: Union[CandidateState, int, str, None] = None,
            order_by: str = "seq", page_size: int = 1000, *,
            min_val_accuracy: float = 0.0, max_macs: int = 0,
            max_params: int = 0,
            max_latency_ms: float = 0.0) -> Iterator[Candidate]:
        """Every matching candidate (see candidates_page), fetching pages of
        `page_size` as iteration reaches them."""
        state_value = _candidate_state(state)  # ValueError now, not later
        return _pages(lambda token: self.candidates_page(
            experiment_id, state_value, order_by, page_size, token,
            min_val_accuracy=min_val_accuracy, max_macs=max_macs,
            max_params=max_params, max_latency_ms=max_latency_ms))

    def pareto_front(self, experiment_id: int,
                     minimize: Sequence[str] = ()) -> ParetoFront:
        """The non-dominated evaluated candidates (maximize val_accuracy,
        minimize `minimize`; default the experiment's objective.minimize, or
        macs)."""
        return ParetoFront(self._call(
            "GetParetoFront", experiment_pb2.GetParetoFrontRequest(
                experiment_id=experiment_id,
                minimize=builtins.list(minimize))))

    def learning_curves_page(self, experiment_id: int, page_size: int = 100,
                             page_token: str = "") -> Page[LearningCurve]:
        """One page of ListLearningCurves (.response.epochs: the spec's
        evaluation.epochs)."""
        r = self._call(
            "ListLearningCurves", experiment_pb2.ListLearningCurvesRequest(
                experiment_id=experiment_id, page_size=page_size,
                page_token=page_token))
        return Page([LearningCurve(c) for c in r.curves], r.next_page_token,
                    None, r)

    def learning_curves(self, experiment_id: int,
                        page_size: int = 100) -> Iterator[LearningCurve]:
        """Every trained candidate's per-epoch curve, in seq order, with
        where early stopping cut it."""
        return _pages(lambda token: self.learning_curves_page(
            experiment_id, page_size, token))

    def export(self, experiment_id: int, candidate_id: int,
               path: Union[str, os.PathLike[str]]
               ) -> experiment_pb2.ExportCandidateResponse:
        """Writes the candidate's TorchScript model to `path`; returns the
        ExportCandidateResponse without its bytes. NotFound when no model
        is kept for it."""
        response = self._call(
            "ExportCandidate", experiment_pb2.ExportCandidateRequest(
                experiment_id=experiment_id, candidate_id=candidate_id),
            timeout=max(self._timeout, 120.0))
        with open(path, "wb") as f:
            f.write(response.torchscript)
        response.ClearField("torchscript")
        return response


def _pages(fetch: Callable[[str], Page[T]]) -> Iterator[T]:
    """Yields the items of every page, fetching the next page lazily."""
    token = ""
    while True:
        page = fetch(token)
        yield from page.items
        if not page.next_page_token or not page.items:
            return
        token = page.next_page_token
