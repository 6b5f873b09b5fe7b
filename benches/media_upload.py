"""Media uploads for benches/media.sh against a running server.

    python3 benches/media_upload.py fixture PATH          (needs Pillow)
    python3 benches/media_upload.py upload FIXTURE BASE TOKEN UPLOADERS DURATION FIRST
    python3 benches/media_upload.py stored BASE TOKEN

fixture: a photo-like 3000x2000 JPEG at quality 92 (smooth colour fields under sensor-like grain),
about 2 MB. upload: UPLOADERS threads POST it as multipart to /api/v1/media for DURATION; upload n
(counted from FIRST) raises the last ten entries of the first quantisation table by n's bits, a
valid JPEG decoding to a slightly different image, so no two uploads share bytes and none is a
content-addressed dedupe hit; prints "uploads uploads/s p50-ms p99-ms errors". stored: "media
distinct-keys" through the media list, to show that there were no dedupe hits.
"""

import io
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.request

BOUNDARY = "folio-bench-5c1e0b9d27a4"


def make_fixture(path):
    from PIL import Image, ImageChops

    size = (3000, 2000)
    fields = [Image.effect_noise((30, 20), 64).resize(size, Image.BICUBIC) for _ in range(3)]
    grain = Image.effect_noise(size, 6)
    image = ImageChops.add(Image.merge("RGB", fields), Image.merge("RGB", [grain] * 3), offset=-128)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    with open(path, "wb") as file:
        file.write(out.getvalue())


def upload(fixture, base, token, uploaders, duration, first):
    with open(fixture, "rb") as file:
        original = file.read()
    dqt = original.index(b"\xff\xdb")  # FF DB, length (2), precision/table (0: 8-bit), 64 entries
    assert original[dqt + 4] >> 4 == 0, "the fixture's first quantisation table is not 8-bit"
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="alt"\r\n\r\nbenchmark upload\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    numbers = itertools.count(first)
    latencies, errors = [], {}
    stop = time.monotonic() + float(duration.rstrip("s"))

    def uploader():
        while time.monotonic() < stop:
            n = next(numbers)
            data = bytearray(original)
            for k in range(10):
                data[dqt + 59 + k] += (n >> 2 * k) & 3
            request = urllib.request.Request(f"{base}/api/v1/media", method="POST",
                                             data=head + bytes(data) + tail, headers=headers)
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                latencies.append((time.monotonic() - started) * 1000)
            except (urllib.error.URLError, OSError) as error:
                status = getattr(error, "code", type(error).__name__)
                if status not in errors:
                    detail = error.read()[:300] if hasattr(error, "read") else error
                    print(f"upload error {status}: {detail}", file=sys.stderr)
                errors[status] = errors.get(status, 0) + 1

    threads = [threading.Thread(target=uploader) for _ in range(uploaders)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] if latencies else float("nan")

    print(f"{len(latencies)} {len(latencies) / elapsed:.2f} {percentile(50):.1f} {percentile(99):.1f} "
          f"{sum(errors.values())}")


def stored(base, token):
    keys, count, cursor = set(), 0, None
    while True:
        request = urllib.request.Request(f"{base}/api/v1/media?limit=100" + (f"&cursor={cursor}" if cursor else ""),
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.load(response)
        count += len(page["data"])
        keys.update(media["key"] for media in page["data"])
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    print(count, len(keys))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "fixture":
        make_fixture(*args)
    elif mode == "upload":
        upload(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]))
    else:
        stored(*args)
