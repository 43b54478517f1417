-- wrk script: POST the AdmissionReview in $BODY (run.sh sets it) on
-- keep-alive connections; print one machine-readable RESULT line at the end.
local path = assert(os.getenv("BODY"), "set BODY to the request body file")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, */*"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d bytes=%d "
    .. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout))
end
