"""The plan's shape: build and endpoint in parallel, the deployment after both."""

from rdeploy_tui.pipeline import plan as P
from rdeploy_tui.spec.deploy_spec import default_spec


def test_build_and_endpoint_run_side_by_side_after_prepare():
    plan = P.make_plan(default_spec())
    assert [s.id for s in plan.ready(set(), set())] == [P.PREPARE]
    assert {s.id for s in plan.ready({P.PREPARE}, {P.PREPARE})} == {P.BUILD, P.ENDPOINT}
    assert plan.ready({P.PREPARE, P.BUILD}, {P.PREPARE, P.BUILD, P.ENDPOINT}) == []
    assert [s.id for s in plan.ready({P.PREPARE, P.BUILD, P.ENDPOINT}, {P.PREPARE, P.BUILD, P.ENDPOINT})] == [
        P.DEPLOYMENT
    ]
    assert plan.downstream(P.BUILD) == {P.DEPLOYMENT, P.TRAFFIC, P.SMOKE}


def test_smoke_score_runs_beside_the_traffic_update():
    plan = P.make_plan(default_spec())
    done = {P.PREPARE, P.BUILD, P.ENDPOINT, P.DEPLOYMENT}
    assert {s.id for s in plan.ready(done, set(done))} == {P.TRAFFIC, P.SMOKE}
    assert plan.downstream(P.TRAFFIC) == set() and plan.downstream(P.DEPLOYMENT) == {P.TRAFFIC, P.SMOKE}


def test_titles_name_what_is_made():
    spec = default_spec()
    plan = P.make_plan(spec, image_name="r-forecast:abc", registry="myacr")
    assert plan.step(P.BUILD).title == "Build image r-forecast:abc in myacr"
    assert spec.endpoint.name in plan.step(P.ENDPOINT).title
    assert "1 x Standard_DS3_v2" in plan.step(P.DEPLOYMENT).title
