"""What Client returns: thin typed views over the nas.v1 messages.

Each view keeps the message as ``.proto`` and adds typed properties for the
fields scripts read most, with enum fields as nas_client.enums members
(``experiment.state is ExperimentState.SUCCEEDED``) and timestamps as
aware ``datetime`` objects (None when unset). Every other field is read
from the message unchanged (``experiment.counts.trials_succeeded``,
``candidate.metrics.val_accuracy``, ``candidate.HasField("final")``).
``to_dict()`` is the message as JSON-ready data (proto field names, enum
names as in nasctl's --output json). Views are immutable and compare equal
when their messages do.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import (Any, Dict, Generic, Iterator, List, Optional, TypeVar)

from google.protobuf import json_format
from google.protobuf import message as _message
from google.protobuf import timestamp_pb2

from nas.v1 import architecture_pb2
from nas.v1 import experiment_pb2

from nas_client.enums import CandidateState, ExperimentState

__all__ = ["Candidate", "Experiment", "ExperimentEvent", "LearningCurve",
           "Page", "ParetoFront"]

M = TypeVar("M", bound=_message.Message)
T = TypeVar("T")


def _time(ts: timestamp_pb2.Timestamp) -> Optional[datetime.datetime]:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=datetime.timezone.utc)


class _View(Generic[M]):
    __slots__ = ("proto",)
    proto: M

    def __init__(self, proto: M) -> None:
        object.__setattr__(self, "proto", proto)

    def __getattr__(self, name: str) -> Any:
        if name == "proto":  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self.proto, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; "
                             "change a copy of .proto instead")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and \
            other.proto == self.proto  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.proto.SerializeToString(
            deterministic=True)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._summary()})"

    def _summary(self) -> str:
        return ""

    def to_dict(self) -> Dict[str, Any]:
        return json_format.MessageToDict(self.proto,
                                         preserving_proto_field_name=True)


class Candidate(_View[experiment_pb2.Candidate]):
    """One proposed architecture and what became of it."""

    __slots__ = ()

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def experiment_id(self) -> int:
        return self.proto.experiment_id

    @property
    def seq(self) -> int:
        return self.proto.seq

    @property
    def state(self) -> CandidateState:
        return CandidateState(self.proto.state)

    @property
    def genotype(self) -> architecture_pb2.Genotype:
        return self.proto.genotype

    @property
    def metrics(self) -> architecture_pb2.EvaluationMetrics:
        return self.proto.metrics

    @property
    def val_accuracy(self) -> Optional[float]:
        """metrics.val_accuracy when the candidate was evaluated, else None."""
        return (self.proto.metrics.val_accuracy
                if self.proto.HasField("metrics") else None)

    @property
    def updated_at(self) -> Optional[datetime.datetime]:
        return _time(self.proto.updated_at)

    def _summary(self) -> str:
        return (f"id={self.id}, state={self.state}, "
                f"genotype={self.genotype.canonical!r}")


class Experiment(_View[experiment_pb2.Experiment]):
    """An experiment: its spec, state, counts and best candidate."""

    __slots__ = ()

    @property
    def id(self) -> int:
        return self.proto.id

    @property
    def name(self) -> str:
        return self.proto.spec.name

    @property
    def spec(self) -> experiment_pb2.ExperimentSpec:
        return self.proto.spec

    @property
    def state(self) -> ExperimentState:
        return ExperimentState(self.proto.state)

    @property
    def finished(self) -> bool:
        """True once the state is final (not RUNNING or UNSPECIFIED)."""
        return self.state not in (ExperimentState.RUNNING,
                                  ExperimentState.UNSPECIFIED)

    @property
    def counts(self) -> experiment_pb2.ExperimentCounts:
        return self.proto.counts

    @property
    def best(self) -> Optional[Candidate]:
        """The best evaluated candidate so far, or None."""
        return Candidate(self.proto.best) if self.proto.HasField("best") \
            else None

    @property
    def error(self) -> str:
        return self.proto.error

    @property
    def created_at(self) -> Optional[datetime.datetime]:
        return _time(self.proto.created_at)

    @property
    def finished_at(self) -> Optional[datetime.datetime]:
        return _time(self.proto.finished_at)

    def _summary(self) -> str:
        return f"id={self.id}, name={self.name!r}, state={self.state}"


class ExperimentEvent(_View[experiment_pb2.ExperimentEvent]):
    """One WatchExperiment event: the experiment after the change."""

    __slots__ = ()

    @property
    def experiment(self) -> Experiment:
        return Experiment(self.proto.experiment)

    @property
    def message(self) -> str:
        return self.proto.message

    @property
    def time(self) -> Optional[datetime.datetime]:
        return _time(self.proto.time)

    def _summary(self) -> str:
        return (f"experiment={self.proto.experiment.id}, "
                f"message={self.message!r}")


class ParetoFront(_View[experiment_pb2.GetParetoFrontResponse]):
    """Non-dominated evaluated candidates, by descending val_accuracy;
    iterating yields them."""

    __slots__ = ()

    @property
    def front(self) -> List[Candidate]:
        return [Candidate(c) for c in self.proto.front]

    @property
    def objectives(self) -> List[str]:
        """"val_accuracy" first, then the minimized ones."""
        return list(self.proto.objectives)

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.front)

    def __len__(self) -> int:
        return len(self.proto.front)

    def _summary(self) -> str:
        return f"{len(self)} candidates, objectives={self.objectives}"


class LearningCurve(_View[experiment_pb2.LearningCurve]):
    """The per-epoch curve of one trained candidate (points: CurvePoint
    messages with epoch, val_accuracy, train_loss, seconds)."""

    __slots__ = ()

    @property
    def candidate_id(self) -> int:
        return self.proto.candidate_id

    @property
    def state(self) -> CandidateState:
        return CandidateState(self.proto.state)

    @property
    def points(self) -> List[experiment_pb2.CurvePoint]:
        return list(self.proto.points)

    @property
    def stopped_at_epoch(self) -> Optional[int]:
        """The epoch early stopping cut the trial at, or None."""
        return self.proto.stopped_at_epoch or None

    def _summary(self) -> str:
        return (f"candidate_id={self.candidate_id}, "
                f"{len(self.proto.points)} points")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: its items, the token of the next page (""
    after the last), the total over all pages when the RPC reports one,
    and the raw response."""

    items: List[T]
    next_page_token: str
    total: Optional[int] = None
    response: Any = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
