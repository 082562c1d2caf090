package weir.bench.flink;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.CheckpointStatsSnapshot;
import org.apache.flink.runtime.checkpoint.CheckpointStatsStatus;

/**
 * Checkpoint figures of one finished job, from the checkpoint statistics its JobMaster kept: the
 * same history that the REST API serves at /jobs/:id/checkpoints. A checkpoint's duration is
 * Flink's end-to-end duration, from the trigger to the last task's acknowledgement, which is what
 * weir's coordinator measures too (trigger to completion). The history holds as many checkpoints
 * as web.checkpoints.history allows; FlinkBench raises it so that none are dropped.
 */
record CheckpointSummary(int completed, long failed, double p50Ms, double p99Ms, double maxMs,
    double stateBytesP50) {

  static final CheckpointSummary NONE = new CheckpointSummary(0, 0, 0, 0, 0, 0);

  static CheckpointSummary of(CheckpointStatsSnapshot snapshot) {
    if (snapshot == null) return NONE;
    List<Double> durations = new ArrayList<>();
    List<Double> sizes = new ArrayList<>();
    for (AbstractCheckpointStats c : snapshot.getHistory().getCheckpoints()) {
      if (c.getStatus() != CheckpointStatsStatus.COMPLETED) continue;
      durations.add((double) c.getEndToEndDuration());
      sizes.add((double) c.getStateSize());
    }
    double max = durations.isEmpty() ? 0 : Collections.max(durations);
    return new CheckpointSummary(durations.size(),
        snapshot.getCounts().getNumberOfFailedCheckpoints(), percentile(durations, 50),
        percentile(durations, 99), max, percentile(sizes, 50));
  }

  /** Nearest rank, the formula weir_bench uses, so both engines' percentiles mean the same. */
  static double percentile(List<Double> values, double p) {
    if (values.isEmpty()) return 0;
    List<Double> v = new ArrayList<>(values);
    Collections.sort(v);
    int i = (int) (p / 100.0 * (v.size() - 1) + 0.5);
    return v.get(Math.min(i, v.size() - 1));
  }
}
