"""The peer side of bench/data_pipeline's decode measurement.

torchvision's ImageFolder with its default loader decodes each image with
PIL (open, convert to RGB) and a Resize transform resizes it (bilinear, as
torchvision.transforms.Resize does on PIL images). This script does exactly
that for every image of an image folder, in one process, and prints the
images per second. Usage: data_pipeline_pil.py DIR SIDE
"""
import sys
import time

import numpy as np
from PIL import Image
from torchvision import datasets, transforms


def main():
    root, side = sys.argv[1], int(sys.argv[2])
    resize = transforms.Resize((side, side),
                               interpolation=transforms.InterpolationMode.BILINEAR)
    t0 = time.perf_counter()
    folder = datasets.ImageFolder(root)  # lists the files, as the worker does
    total = 0
    for path, _ in folder.samples:
        img = resize(folder.loader(path))
        arr = np.asarray(img, dtype=np.uint8)
        total += int(arr[0, 0, 0])
    seconds = time.perf_counter() - t0
    print(f"{len(folder.samples) / seconds:.1f}")
    print(f"{len(folder.samples)} images in {seconds:.2f}s (checksum {total})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
