"""Seed 001's own analysis, as published (parse_logs, basic statistics, compliance checks,
performance metrics), made runnable on a file given on the command line. It is the
baseline llmscope's import + report is compared with in docs/BENCHMARKS.md.

Only two changes to the seed's code: the file name comes from argv, and the P95 uses the
seed's own `sorted(latencies)[int(0.95 * len(latencies))]`. Standard library only.
"""
import json
import sys
import time
from collections import defaultdict
from typing import Dict


def parse_logs(file_path: str):
    logs = []
    with open(file_path, "r", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                logs.append(json.loads(line))
    return logs


def check_compliance(output: str, json_mode: bool) -> Dict[str, bool]:
    issues = {
        "contains_sensitive": False,
        "malformed_json": False,
        "empty_response": False,
        "jailbreak_attempt": False,
    }
    if not output.strip():
        issues["empty_response"] = True
        return issues
    sensitive_patterns = ["密码", "身份证", "银行卡"]
    if any(p in output for p in sensitive_patterns):
        issues["contains_sensitive"] = True
    if json_mode:
        try:
            json.loads(output)
        except json.JSONDecodeError:
            issues["malformed_json"] = True
    jailbreak_keywords = ["忽略上述指令", "system prompt", "你是一个程序员"]
    if any(kw in output for kw in jailbreak_keywords):
        issues["jailbreak_attempt"] = True
    return issues


def main(path: str) -> None:
    t0 = time.perf_counter()
    logs = parse_logs(path)
    t1 = time.perf_counter()
    total_requests = len(logs)
    avg_input_tokens = sum([log["metadata"]["prompt_tokens"] for log in logs]) / total_requests
    avg_output_tokens = sum([log["metadata"]["completion_tokens"] for log in logs]) / total_requests
    success_rate = sum([1 for log in logs if log["output"].strip()]) / total_requests
    print(f"总请求数: {total_requests}")
    print(f"平均输入 tokens: {avg_input_tokens:.1f}")
    print(f"平均输出 tokens: {avg_output_tokens:.1f}")
    print(f"响应成功率: {success_rate*100:.1f}%")

    compliance_results = [check_compliance(log["output"], log["metadata"]["json_mode"]) for log in logs]
    violation_stats = defaultdict(int)
    for result in compliance_results:
        for k, v in result.items():
            if v:
                violation_stats[k] += 1
    print("输出合规问题统计:")
    for k, v in violation_stats.items():
        print(f"  {k}: {v} 次")

    latencies = [log["metadata"]["total_latency_ms"] for log in logs]
    throughputs = [
        log["metadata"]["completion_tokens"] / (log["metadata"]["total_latency_ms"] / 1000)
        for log in logs
        if log["metadata"]["total_latency_ms"] > 0
    ]
    p95_latency = sorted(latencies)[int(0.95 * len(latencies))]
    avg_throughput = sum(throughputs) / len(throughputs)
    print(f"P95 响应延迟: {p95_latency} ms")
    print(f"平均吞吐量: {avg_throughput:.1f} tokens/s")
    t2 = time.perf_counter()
    print(f"parse_s={t1 - t0:.3f} analyse_s={t2 - t1:.3f} total_s={t2 - t0:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
