"""The mocker's vLLM-v1 scheduler (SPEC §13): queues, one pass, the perf model, timed replay."""
