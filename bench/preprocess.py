"""Preprocessing speed: seconds of audio processed per wall-clock second on 2 cores, for the
same songs folder (default: the bundled songs/).

- beatgen: `beatgen dataset-info SONGS` with an empty cache: decode (symphonia), resample to
  22050 Hz (rubato sinc), full-song STFT for the tempo, 3 s clips, STFT + dB + mel bands per clip.
- librosa: `librosa.load(path, sr=22050, mono=True)` (soundfile/audioread + soxr_hq) and
  `librosa.stft(y, n_fft=1024, hop_length=256)` of the whole song, over a 2-process pool.
librosa does less work here (no clips, no bands, no tempo), so the ratio is conservative.
"""
import argparse, glob, json, os, shutil, subprocess, tempfile, time
from multiprocessing import Pool


def librosa_one(path):
    import librosa
    y, sr = librosa.load(path, sr=22050, mono=True)
    librosa.stft(y, n_fft=1024, hop_length=256)
    return len(y) / sr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beatgen", required=True)
    ap.add_argument("--songs", default="songs")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.songs, "*", "*.mp3")))
    with Pool(2) as pool:
        pool.map(librosa_one, files[:2])  # warm-up: imports and caches in both workers
        t = time.perf_counter()
        audio_s = sum(pool.map(librosa_one, files))
        librosa_s = time.perf_counter() - t
    cache = tempfile.mkdtemp()
    t = time.perf_counter()
    out = subprocess.run([args.beatgen, "--threads", "2", "dataset-info", args.songs, "--cache", cache, "--json"],
                         check=True, capture_output=True, text=True).stdout
    beatgen_s = time.perf_counter() - t
    shutil.rmtree(cache)
    info = json.loads(out)
    import librosa
    print(f"Preprocessing {len(files)} songs ({audio_s:.0f} s of audio) on 2 cores")
    print()
    print("| implementation | wall seconds | audio seconds per second | beatgen is faster by |")
    print("|---|---:|---:|---:|")
    print(f"| librosa {librosa.__version__} (load + stft) | {librosa_s:.2f} | {audio_s / librosa_s:.0f} | {librosa_s / beatgen_s:.1f}x |")
    print(f"| beatgen dataset pipeline | {beatgen_s:.2f} | {info['total_seconds'] / beatgen_s:.0f} | 1.0x |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"files": len(files), "audio_seconds": audio_s, "librosa_seconds": librosa_s,
                       "beatgen_seconds": beatgen_s}, f, indent=1)


if __name__ == "__main__":
    main()
