"""The PNG of `make bench`: throughput and latency over time across the
end-to-end runs, drawn by gnuplot (Debian's gnuplot-nox)."""

from __future__ import annotations

import os
import subprocess


def render(runs: list[dict], png: str, work_dir: str) -> None:
    data = os.path.join(work_dir, "series.dat")
    labels = []
    offset = 0
    with open(data, "w") as f:
        f.write("# t accepted_per_s kafka_p50_ms kafka_p99_ms live_p50_ms live_p99_ms\n")
        for run in runs:
            labels.append((offset, run.get("label", "")))
            last = 0
            for point in run.get("series", []):
                t = offset + point["t"]
                last = max(last, point["t"])

                def ms(key):
                    value = point.get(key, -1)
                    return value if value is not None and value > 0 else "NaN"
                f.write(f"{t} {point['accepted']} {ms('kafka_p50_ms')} {ms('kafka_p99_ms')} "
                        f"{ms('live_p50_ms')} {ms('live_p99_ms')}\n")
            f.write("\n\n")
            offset += last + 3
    marks = "\n".join(
        f'set arrow from {x},graph 0 to {x},graph 1 nohead dt 3 lc rgb "#999999"\n'
        f'set label "{label}" at {x + 0.5},graph 0.95 font ",9"' for x, label in labels)
    script = f"""
set terminal pngcairo size 1200,800 font ",10"
set output "{png}"
set multiplot layout 2,1 title "Beacon end to end: tracker 2xx -> Kafka -> live view (per second of the run)"
set grid
set key bottom right opaque box
set xlabel "seconds (runs one after another)"
set ylabel "events accepted / s"
set format y "%.0s%c"
{marks}
plot "{data}" using 1:2 with steps lw 2 title "accepted by the tracker"
set ylabel "latency (ms, log)"
set logscale y
set format y "%g"
plot "{data}" using 1:3 with lines lw 1 title "Kafka p50", \\
     "{data}" using 1:4 with lines lw 2 title "Kafka p99", \\
     "{data}" using 1:6 with lines lw 2 dt 2 title "live view p99"
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
