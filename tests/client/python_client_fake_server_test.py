"""nas_client against an in-process fake ExperimentService (real gRPC over
loopback, real generated stubs): typed results with enum members, one
exception class per status code (InvalidArgument's .field), listings that
page lazily, and the calls of ExtendExperiment / ListLearningCurves (which
a controller older than them answers UNIMPLEMENTED). Also checks the
package's type information: every public function annotated, and the
generated enums.pyi listing exactly the runtime members.

Run (ctest python_client_fake_server_test does):
    PYTHONPATH=<build>/python-package python3 this_file.py
"""
import ast
import concurrent.futures
import inspect
import os
import socket
import typing
import unittest

import grpc

import nas_client
from nas_client import (CandidateState, Client, ExperimentState,
                        FailedPrecondition, InvalidArgument, NasError,
                        NotFound, Unauthenticated, Unavailable, Unimplemented)
from nas_client import enums, errors, messages
from nas.v1 import experiment_pb2
from nas.v1 import experiment_pb2_grpc

TOKEN = "t0ken"
N_EXPERIMENTS = 7
N_CANDIDATES = 23


def _page(items, request):
    """Offset paging: the token is the next offset."""
    start = int(request.page_token or 0)
    size = request.page_size or 50
    end = min(start + size, len(items))
    return items[start:end], (str(end) if end < len(items) else "")


class FakeService(experiment_pb2_grpc.ExperimentServiceServicer):
    def __init__(self):
        self.requests = []  # (method, request) in order

    def _record(self, name, request, context):
        self.requests.append((name, request))
        md = dict(context.invocation_metadata())
        if md.get("authorization") != f"Bearer {TOKEN}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no token")

    def _experiment(self, i, state=experiment_pb2.EXPERIMENT_SUCCEEDED):
        e = experiment_pb2.Experiment(id=i, state=state)
        e.spec.name = f"exp-{i}"
        e.created_at.seconds = 1700000000 + i
        if state == experiment_pb2.EXPERIMENT_SUCCEEDED:
            e.best.id = 100 * i
            e.best.state = experiment_pb2.CANDIDATE_EVALUATED
            e.best.metrics.val_accuracy = 0.9
        return e

    def CreateExperiment(self, request, context):
        self._record("CreateExperiment", request, context)
        if "max_trials: 0" in request.spec_yaml:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "budget.max_trials: must be > 0")
        if "garbage" in request.spec_yaml:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "spec is not a mapping")
        return self._experiment(1, experiment_pb2.EXPERIMENT_RUNNING)

    def GetExperiment(self, request, context):
        self._record("GetExperiment", request, context)
        if not 1 <= request.id <= N_EXPERIMENTS:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"experiment {request.id} not found")
        return self._experiment(request.id)

    def ListExperiments(self, request, context):
        self._record("ListExperiments", request, context)
        items, token = _page([self._experiment(i) for i in
                              range(1, N_EXPERIMENTS + 1)], request)
        return experiment_pb2.ListExperimentsResponse(
            experiments=items, next_page_token=token)

    def StopExperiment(self, request, context):
        self._record("StopExperiment", request, context)
        return self._experiment(request.id, experiment_pb2.EXPERIMENT_STOPPED)

    def ExtendExperiment(self, request, context):
        self._record("ExtendExperiment", request, context)
        if request.id == 4:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          "experiment 4 FAILED; it cannot be extended")
        if request.id == 5:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "")
        e = self._experiment(request.id, experiment_pb2.EXPERIMENT_RUNNING)
        e.spec.budget.max_trials = request.max_trials
        return e

    def ListCandidates(self, request, context):
        self._record("ListCandidates", request, context)
        every = [experiment_pb2.Candidate(
            id=i, experiment_id=request.experiment_id, seq=i,
            state=(experiment_pb2.CANDIDATE_EVALUATED if i % 2
                   else experiment_pb2.CANDIDATE_FAILED))
            for i in range(1, N_CANDIDATES + 1)]
        if request.state:
            every = [c for c in every if c.state == request.state]
        items, token = _page(every, request)
        return experiment_pb2.ListCandidatesResponse(
            candidates=items, next_page_token=token, total=len(every))

    def ListLearningCurves(self, request, context):
        self._record("ListLearningCurves", request, context)
        curves = []
        for i in range(1, 6):
            c = experiment_pb2.LearningCurve(
                candidate_id=i, seq=i,
                state=experiment_pb2.CANDIDATE_EVALUATED,
                stopped_at_epoch=2 if i == 3 else 0)
            for epoch in range(1, (2 if i == 3 else 4) + 1):
                c.points.add(epoch=epoch, val_accuracy=0.1 * epoch)
            curves.append(c)
        items, token = _page(curves, request)
        return experiment_pb2.ListLearningCurvesResponse(
            curves=items, next_page_token=token, epochs=4)

    def GetParetoFront(self, request, context):
        self._record("GetParetoFront", request, context)
        r = experiment_pb2.GetParetoFrontResponse(
            objectives=["val_accuracy"] + list(request.minimize or ["macs"]))
        r.front.add(id=2, state=experiment_pb2.CANDIDATE_EVALUATED)
        return r

    def WatchExperiment(self, request, context):
        self._record("WatchExperiment", request, context)
        if request.id == 9:
            context.abort(grpc.StatusCode.NOT_FOUND, "experiment 9 not found")
        for state, message in ((experiment_pb2.EXPERIMENT_RUNNING, "snapshot"),
                               (experiment_pb2.EXPERIMENT_RUNNING,
                                "candidate 1 evaluated"),
                               (experiment_pb2.EXPERIMENT_SUCCEEDED,
                                "experiment succeeded")):
            yield experiment_pb2.ExperimentEvent(
                experiment=self._experiment(request.id, state),
                message=message)


class FakeServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.service = FakeService()
        cls.server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(max_workers=4))
        experiment_pb2_grpc.add_ExperimentServiceServicer_to_server(
            cls.service, cls.server)
        port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()
        cls.client = Client(f"127.0.0.1:{port}", token=TOKEN, timeout=10)
        cls.anonymous = Client(f"127.0.0.1:{port}", timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.anonymous.close()
        cls.server.stop(None)

    def calls(self, name):
        return [r for n, r in self.service.requests if n == name]

    def test_results_carry_enum_members(self):
        e = self.client.get(3)
        self.assertIsInstance(e, nas_client.Experiment)
        self.assertIs(e.state, ExperimentState.SUCCEEDED)
        self.assertEqual(e.state, experiment_pb2.EXPERIMENT_SUCCEEDED)
        self.assertEqual(str(e.state), "SUCCEEDED")
        self.assertEqual(e.state.proto_name, "EXPERIMENT_SUCCEEDED")
        self.assertEqual(e.name, "exp-3")
        self.assertTrue(e.finished)
        self.assertIs(e.best.state, CandidateState.EVALUATED)
        self.assertEqual(e.best.metrics.val_accuracy, 0.9)
        self.assertEqual(e.created_at.timestamp(), 1700000003)
        self.assertIsNone(e.finished_at)
        # Fields without a typed property come from the message.
        self.assertEqual(e.counts.trials_succeeded, 0)
        self.assertTrue(e.HasField("best"))
        self.assertEqual(e.to_dict()["state"], "EXPERIMENT_SUCCEEDED")
        with self.assertRaises(AttributeError):
            e.state = ExperimentState.FAILED

    def test_each_status_code_has_its_exception(self):
        with self.assertRaises(NotFound) as cm:
            self.client.get(999999)
        self.assertIsInstance(cm.exception, NasError)
        self.assertIs(cm.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(cm.exception.method, "GetExperiment")
        self.assertEqual(str(cm.exception),
                         "NOT_FOUND: experiment 999999 not found")
        self.assertIsInstance(cm.exception.__cause__, grpc.RpcError)
        with self.assertRaises(Unauthenticated):
            self.anonymous.get(1)
        with self.assertRaises(FailedPrecondition):
            self.client.extend(4, max_trials=10)
        with self.assertRaises(Unimplemented):
            self.client.resume(5)
        for code in grpc.StatusCode:
            if code is grpc.StatusCode.OK:
                continue
            cls = errors._BY_CODE[code]
            self.assertIs(cls.code, code)
            self.assertTrue(issubclass(cls, NasError))

    def test_invalid_argument_names_the_field(self):
        with self.assertRaises(InvalidArgument) as cm:
            self.client.submit("name: x\nbudget: {max_trials: 0}\n")
        self.assertEqual(cm.exception.field, "budget.max_trials")
        with self.assertRaises(InvalidArgument) as cm:
            self.client.submit("garbage")
        self.assertIsNone(cm.exception.field)
        self.assertIsNone(cm.exception.line)
        # The shapes of common/spec/field_errors.cc and the services.
        parse = errors.InvalidArgument
        for message, field, line in (
                ("spec.budget.max_trials (line 4): must be > 0 (or set "
                 "budget.max_simulated_seconds), got 0",
                 "spec.budget.max_trials", 4),
                ("spec.search_space.decisions[2] (kernel).type (line 9): "
                 "unknown", "spec.search_space.decisions[2] (kernel).type", 9),
                ("spec.search_space.decisions[2] (line 7): empty",
                 "spec.search_space.decisions[2]", 7),
                ("worker_id: must not be empty", "worker_id", None),
                ("spec_yaml: line 3: bad", "spec_yaml", None),
                ("not a field: x", None, None)):
            e = parse(message)
            self.assertEqual((e.field, e.line), (field, line), message)

    def test_unreachable_controller_is_unavailable(self):
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with Client(f"127.0.0.1:{port}", timeout=5) as c:
            with self.assertRaises(Unavailable):
                c.get(1)

    def test_listings_page_lazily_over_every_page(self):
        before = len(self.calls("ListExperiments"))
        it = self.client.list_experiments(page_size=3)
        self.assertEqual(len(self.calls("ListExperiments")), before)  # lazy
        first = next(it)
        self.assertEqual(first.id, 1)
        self.assertEqual(len(self.calls("ListExperiments")), before + 1)
        rest = list(it)
        self.assertEqual([e.id for e in [first] + rest],
                         list(range(1, N_EXPERIMENTS + 1)))
        pages = self.calls("ListExperiments")[before:]
        self.assertEqual([p.page_token for p in pages], ["", "3", "6"])
        self.assertEqual({p.page_size for p in pages}, {3})
        # list() is every page too, not the first.
        self.assertEqual(len(self.client.list(page_size=2)), N_EXPERIMENTS)
        page = self.client.experiments_page(page_size=4)
        self.assertEqual((len(page), page.next_page_token), (4, "4"))

    def test_candidates_page_and_filter_by_state(self):
        every = list(self.client.candidates(8, page_size=5))
        self.assertEqual([c.seq for c in every],
                         list(range(1, N_CANDIDATES + 1)))
        self.assertTrue(all(isinstance(c.state, CandidateState)
                            for c in every))
        for state in (CandidateState.EVALUATED, "EVALUATED",
                      "CANDIDATE_EVALUATED", 3):
            got = list(self.client.candidates(8, state=state, page_size=4))
            self.assertEqual(len(got), (N_CANDIDATES + 1) // 2)
            self.assertTrue(all(c.state is CandidateState.EVALUATED
                                for c in got))
        self.assertEqual(self.calls("ListCandidates")[-1].state,
                         experiment_pb2.CANDIDATE_EVALUATED)
        page = self.client.candidates_page(8, page_size=10)
        self.assertEqual((len(page), page.total, page.next_page_token),
                         (10, N_CANDIDATES, "10"))
        with self.assertRaisesRegex(ValueError, "unknown candidate state"):
            self.client.candidates(8, state="DONE")

    def test_extend_and_resume_send_the_new_budget(self):
        e = self.client.extend(2, max_trials=40)
        self.assertIs(e.state, ExperimentState.RUNNING)
        self.assertEqual(e.spec.budget.max_trials, 40)
        r = self.calls("ExtendExperiment")[-1]
        self.assertEqual((r.id, r.max_trials, r.max_simulated_seconds),
                         (2, 40, 0.0))
        self.client.extend(2, max_simulated_seconds=3600.5)
        r = self.calls("ExtendExperiment")[-1]
        self.assertEqual((r.max_trials, r.max_simulated_seconds), (0, 3600.5))
        self.client.resume(6)
        r = self.calls("ExtendExperiment")[-1]
        self.assertEqual((r.id, r.max_trials, r.max_simulated_seconds),
                         (6, 0, 0.0))
        with self.assertRaisesRegex(ValueError, "resume"):
            self.client.extend(2)

    def test_learning_curves_page(self):
        curves = list(self.client.learning_curves(2, page_size=2))
        self.assertEqual([c.candidate_id for c in curves], [1, 2, 3, 4, 5])
        self.assertEqual([len(c.points) for c in curves], [4, 4, 2, 4, 4])
        self.assertEqual(curves[2].stopped_at_epoch, 2)
        self.assertIsNone(curves[0].stopped_at_epoch)
        self.assertIs(curves[0].state, CandidateState.EVALUATED)
        self.assertEqual(
            [r.page_token for r in self.calls("ListLearningCurves")[-3:]],
            ["", "2", "4"])
        page = self.client.learning_curves_page(2)
        self.assertEqual(page.response.epochs, 4)

    def test_watch_yields_typed_events_and_maps_errors(self):
        events = list(self.client.watch(2))
        self.assertEqual([e.message for e in events],
                         ["snapshot", "candidate 1 evaluated",
                          "experiment succeeded"])
        self.assertIs(events[-1].experiment.state, ExperimentState.SUCCEEDED)
        with self.assertRaises(NotFound):
            list(self.client.watch(9))

    def test_pareto_front_and_stop(self):
        front = self.client.pareto_front(2, minimize=["params"])
        self.assertEqual(front.objectives, ["val_accuracy", "params"])
        self.assertEqual([c.id for c in front], [2])
        self.assertIs(front.front[0].state, CandidateState.EVALUATED)
        self.assertIs(self.client.stop(2).state, ExperimentState.STOPPED)


class EnumsTest(unittest.TestCase):
    def test_enums_mirror_the_proto_descriptors(self):
        for cls, proto in ((ExperimentState, experiment_pb2.ExperimentState),
                           (CandidateState, experiment_pb2.CandidateState)):
            self.assertTrue(issubclass(cls, enums.ProtoEnum))
            self.assertEqual([(m.proto_name, int(m)) for m in cls],
                             [(v.name, v.number)
                              for v in proto.DESCRIPTOR.values])
        self.assertEqual(
            [m.name for m in ExperimentState],
            ["UNSPECIFIED", "RUNNING", "SUCCEEDED", "STOPPED", "FAILED"])
        self.assertEqual(enums.EvaluationMode.TABULAR.proto_name, "TABULAR")
        self.assertEqual(f"{CandidateState.FAILED:>8}", "  FAILED")

    def test_generated_pyi_lists_the_runtime_members(self):
        pyi = os.path.join(os.path.dirname(enums.__file__), "enums.pyi")
        with open(pyi, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        declared = {}
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name != "ProtoEnum":
                declared[node.name] = [
                    (s.targets[0].id, s.value.value) for s in node.body
                    if isinstance(s, ast.Assign)]
        runtime = {name: [(m.name, int(m)) for m in getattr(enums, name)]
                   for name in ("ExperimentState", "CandidateState",
                                "EvaluationMode")}
        self.assertEqual(declared, runtime)


class TypeHintsTest(unittest.TestCase):
    def test_every_public_function_is_annotated(self):
        checked = 0
        for module in (nas_client._client, errors, messages, enums):
            for name, obj in vars(module).items():
                if name.startswith("_") or getattr(
                        obj, "__module__", None) != module.__name__:
                    continue
                members = [obj]
                if inspect.isclass(obj):
                    members = [m for n, m in vars(obj).items()
                               if inspect.isfunction(m) and
                               (not n.startswith("_") or n == "__init__")]
                    members += [p.fget for p in vars(obj).values()
                                if isinstance(p, property)]
                for fn in members:
                    if not inspect.isfunction(fn):
                        continue
                    hints = typing.get_type_hints(fn)
                    params = [p for p in inspect.signature(fn).parameters
                              if p not in ("self", "cls")]
                    missing = [p for p in params + ["return"]
                               if p not in hints]
                    self.assertEqual(missing, [], f"{module.__name__}."
                                     f"{fn.__qualname__} lacks annotations")
                    checked += 1
        self.assertGreater(checked, 30)

    def test_typed_package_markers(self):
        here = os.path.dirname(nas_client.__file__)
        self.assertTrue(os.path.exists(os.path.join(here, "py.typed")))
        stubs = os.path.dirname(experiment_pb2.__file__)
        self.assertTrue(os.path.exists(
            os.path.join(os.path.dirname(stubs), "py.typed")))
        # protoc's --pyi_out: one stub per message module, declaring the
        # messages.
        with open(os.path.join(stubs, "experiment_pb2.pyi"),
                  encoding="utf-8") as f:
            tree = ast.parse(f.read())
        classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        self.assertLessEqual({"Experiment", "Candidate", "ExperimentState",
                              "ExtendExperimentRequest"}, classes)


if __name__ == "__main__":
    unittest.main()
