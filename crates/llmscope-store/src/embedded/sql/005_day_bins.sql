-- Migration 5: the fine value bins of whole UTC days (day_bins.rs), which the overview's
-- exact percentiles read for the whole days of a window instead of counting the calls.

-- Per UTC day, project, model and metric: the calls in each fine value bin (bins.rs), with
-- the least and greatest value in it.
CREATE TABLE day_bins (
    project VARCHAR  NOT NULL,
    day_us  BIGINT   NOT NULL,   -- the day's start (UTC), µs since 1970
    model   VARCHAR  NOT NULL,   -- '' for calls without one
    metric  UTINYINT NOT NULL,   -- 0 latency, 1 TTFT (rollup.rs)
    bin     INTEGER  NOT NULL,   -- fine bin
    n       BIGINT   NOT NULL,
    lo      DOUBLE   NOT NULL,   -- least and greatest value (NaN counts as the greatest)
    hi      DOUBLE   NOT NULL
);

-- Days whose day_bins rows may lack calls: marked when a roll-up rolls up one of their
-- quarter hours, cleared when a roll-up rebuilds the day once it is over.
CREATE TABLE day_bins_dirty (
    project VARCHAR NOT NULL,
    day_us  BIGINT  NOT NULL
);
