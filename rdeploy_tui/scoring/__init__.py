"""Scoring an online endpoint: the one place rdeploy-tui sends scoring requests over HTTP.

    client = ScoringClient()                                   # client.py; reuse it: connections are kept alive
    target = ScoringTarget(uri, key_or_token, deployment="blue", verify=ca_bundle_or_True)   # target.py
    result = client.score(target, '{"forecast_horizon": [2]}')  # result.py: ScoreResult, never raises for HTTP trouble
    result.status, result.latency_ms, result.value, result.explain(), result.double_encoded
    records_table(result.value)                                # records.py
    score_or_raise(target, payload, endpoint="my-endpoint")   # client.py: retries busy/unreachable,
                                                              # RdeployError unless 200

Modules, one job each: request.py (the editor's JSON), target.py (where and with what), result.py (the answer),
explain.py (why a status, and what to do), judge.py (JSON inside a string, rounded numbers), records.py (answer
as a table), openapi.py (a sample request from the API's description), snippets.py (curl/Python to copy),
client.py (HTTP, retries), proxy.py (HTTPS_PROXY/NO_PROXY, the key only inside a CONNECT tunnel), load_test.py
(many requests, percentiles).

Pure Python (httpx), no Textual, no Azure SDK: the wizard, the management screens, the deploy's smoke-score,
`rdeploy-tui endpoints score` and the local run all score through here. The Azure layer only says where to send
the request and with which key or token (rdeploy_tui.azure.scoring.endpoint_target). The key or token is sent as
`Authorization: Bearer ...` and is never part of a result, a repr, a log line or a snippet unless the caller asks
for it to be revealed.
"""
