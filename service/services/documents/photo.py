"""The member's photo on a red background (红底), as the manual's join step ③ says: the applicant
uploads a one-inch photo on a plain background and the platform makes the red one that the
training certificate prints.

The background is what touches the photo's top edge and the upper half of its sides and is
close in colour to it: a person's head and shoulders never reach those edges in a one-inch
photo, and a white shirt enclosed by the person stays white. A photo whose edges are not one
plain colour (a room, a street) is left as it was: painting red into it would do harm.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat

RED = (255, 0, 0)  # 证件照红底
NEAR = 48  # how far (largest channel difference, 0-255) a background pixel may stray
PLAIN = 18.0  # the largest standard deviation of an edge channel still called plain
INSIDE, OUTSIDE, BACKGROUND = 0, 255, 128
STEP = 4  # the joining is worked out on a copy this many times smaller


def upright_rgb(image: Image.Image) -> Image.Image:
    """The picture as a person sees it, in RGB: turned as its EXIF orientation says (a phone
    stores a portrait photo as landscape pixels with a tag) and any transparency on white
    (dropping the alpha channel would show whatever colour the hidden pixels carry)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _edge_pixels(image: Image.Image) -> Image.Image:
    """The top row and the upper halves of the left and right columns, as one strip."""
    w, h = image.size
    half = max(h // 2, 1)
    strip = Image.new("RGB", (w + 2 * half, 1))
    strip.paste(image.crop((0, 0, w, 1)), (0, 0))
    strip.paste(image.crop((0, 0, 1, half)).rotate(90, expand=True), (w, 0))
    strip.paste(image.crop((w - 1, 0, w, half)).rotate(90, expand=True), (w + half, 0))
    return strip


def _near(rgb: Image.Image, colour: tuple) -> Image.Image:
    """255 where a pixel is near `colour` in every channel, 0 elsewhere."""
    r, g, b = ImageChops.difference(rgb, Image.new("RGB", rgb.size, colour)).split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b).point(
        lambda v: OUTSIDE if v <= NEAR else INSIDE
    )


def red_background(image: Image.Image) -> Image.Image | None:
    """A copy of the RGB `image` with its plain background red; None when it has none."""
    rgb = image.convert("RGB")
    w, h = rgb.size
    if w < 8 or h < 8:
        return None
    stat = ImageStat.Stat(_edge_pixels(rgb))
    if max(stat.stddev) > PLAIN:
        return None
    colour = tuple(round(v) for v in stat.median)
    near = _near(rgb, colour)
    # only what is joined to the top and the upper sides is background; the joining is found
    # on a quarter-size copy (Pillow's flood fill runs in Python), then cut at full size
    small = _near(rgb.resize((max(w // STEP, 2), max(h // STEP, 2)), Image.BOX), colour)
    sw, sh = small.size
    seeds = [(x, 0) for x in range(sw)] + [(x, y) for y in range(sh // 2) for x in (0, sw - 1)]
    for seed in seeds:
        if small.getpixel(seed) == OUTSIDE:
            ImageDraw.floodfill(small, seed, BACKGROUND)
    joined = small.point(lambda v: 255 if v == BACKGROUND else 0).filter(ImageFilter.MaxFilter(3))
    mask = ImageChops.multiply(joined.resize(rgb.size, Image.NEAREST), near)
    if mask.getbbox() is None:
        return None
    # soften the outline by a pixel, as a photo studio's cut-out does
    mask = mask.filter(ImageFilter.GaussianBlur(0.8))
    return Image.composite(Image.new("RGB", rgb.size, RED), rgb, mask)
