"""What `hydrogen_corpus.py` and `lmms_corpus.py` share: rendering a list of songs a few at a
time and writing the manifest that `tempo_accuracy.py` reads."""
import csv
import os
import sys
from concurrent.futures import ThreadPoolExecutor


def render_all(jobs, render, workers, out, renderer):
    """Calls `render(job)` for every job, `workers` at a time (the renderers mostly wait), and
    writes the rows it returns (None: a song skipped, with its reason printed) to
    OUT/manifest.tsv, tab-separated with a header (path, genre, bpm, ...). Exits when no song
    was rendered."""
    with ThreadPoolExecutor(workers) as pool:
        rows = [r for r in pool.map(render, jobs) if r]
    if not rows:
        sys.exit(f"{renderer} rendered none of the songs")
    with open(os.path.join(out, "manifest.tsv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    return rows
