"""Python enums mirroring the proto enums of ``nas.v1``.

Each class is built at import time from the generated module's enum
descriptor, so it can never drift from ``proto/``: a value added there
appears here after the stubs are regenerated. Member names drop the proto
prefix (``EXPERIMENT_SUCCEEDED`` is ``ExperimentState.SUCCEEDED``,
``CANDIDATE_STATE_UNSPECIFIED`` is ``CandidateState.UNSPECIFIED``);
``member.proto_name`` is the full proto name, the one ``nasctl`` prints.
Members are ``int`` subclasses, so they compare equal to the raw field
values (``ExperimentState.RUNNING == experiment_pb2.EXPERIMENT_RUNNING``) and
can be assigned to message fields. ``str()`` gives the short name.

The installed package carries ``enums.pyi``, generated from these classes at
build time, for type checkers.
"""

from __future__ import annotations

import enum
from typing import Any, Dict

from nas.v1 import architecture_pb2
from nas.v1 import experiment_pb2

__all__ = ["CandidateState", "EvaluationMode", "ExperimentState",
           "ProtoEnum", "mirror"]


class ProtoEnum(enum.IntEnum):
    """Base of the mirrored enums: an IntEnum that knows its proto name."""

    @property
    def proto_name(self) -> str:
        """The value's name in proto/, e.g. "EXPERIMENT_SUCCEEDED"."""
        names: Dict[int, str] = type(self).__dict__["_nas_proto_names"]
        return names[int(self)]

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)


def _short_names(proto_names: list[str]) -> list[str]:
    """Drops the prefix every value but *_UNSPECIFIED shares, cut at '_'."""
    rest = [n for n in proto_names if not n.endswith("_UNSPECIFIED")]
    prefix = ""
    if rest:
        common = rest[0]
        for n in rest[1:]:
            while not n.startswith(common):
                common = common[:-1]
        prefix = common[:common.rfind("_") + 1]
        if any(not n[len(prefix):] or n[len(prefix)].isdigit() for n in rest):
            prefix = ""
    return ["UNSPECIFIED" if n.endswith("_UNSPECIFIED") else n[len(prefix):]
            for n in proto_names]


def mirror(name: str, proto_enum: Any) -> type[ProtoEnum]:
    """Builds the ProtoEnum subclass `name` from a generated enum wrapper
    (e.g. ``experiment_pb2.ExperimentState``)."""
    values = list(proto_enum.DESCRIPTOR.values)
    short = _short_names([v.name for v in values])
    cls = ProtoEnum(name, [(s, v.number) for s, v in zip(short, values)],
                    module=__name__, qualname=name)
    cls._nas_proto_names = {v.number: v.name for v in values}  # type: ignore
    return cls  # type: ignore[return-value]


ExperimentState = mirror("ExperimentState", experiment_pb2.ExperimentState)
CandidateState = mirror("CandidateState", experiment_pb2.CandidateState)
EvaluationMode = mirror("EvaluationMode", architecture_pb2.EvaluationMode)
