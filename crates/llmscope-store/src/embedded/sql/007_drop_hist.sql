-- Migration 7: no more quarter-hour histograms (`call_rollup_hist`, migration 3).
--
-- Per quarter hour and model, a latency's or a TTFT's coarse bin (about 2 % wide) held one
-- or two values at the traffic of a busy chat (seed 001's 1 M calls over 30 days: 1.26 M
-- rows for 2 M values), so the table was nearly as long as the calls, and writing it was the
-- longest share of every roll-up. The coarse counts the percentiles and the latency
-- histogram start from are now read from the days' fine bins (`day_bins`, migration 5) over a
-- window's whole clean UTC days, and counted from the calls' stored bins over the rest
-- (overview.rs, `coarse_rows`; docs/BENCHMARKS.md, twenty-ninth session).

DROP TABLE call_rollup_hist;
