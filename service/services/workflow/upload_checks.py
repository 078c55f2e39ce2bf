"""What an upload really is: its type from the bytes, images decoded, PDFs inspected.

The declared name and type are never trusted. An image must decode completely with
Pillow (a JPEG or PNG header in front of HTML is refused), and a PDF may carry no
JavaScript and no launch action (pypdf reads every object, compressed streams included).
A video (MP4 or QuickTime MOV, as phones record them) is an ISO base media file: an
`ftyp` box first whose brand is a video one, then boxes that fill the file exactly, a
`moov` (the movie's header) among them.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Collection

import filetype
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from service.domain.errors import FormInvalid

VIDEO_TYPES = {"video/mp4": "mp4", "video/quicktime": "mov"}
ALLOWED_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/pdf": "pdf",
    **VIDEO_TYPES,
}
# the major brand of an `ftyp` box: MP4 as cameras, phones and editors write it, or
# QuickTime (an iPhone's .mov); image (HEIC, AVIF) and audio (M4A) brands are not videos
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1"}
_MP4_BRANDS |= {b"M4V ", b"mmp4", b"MSNV", b"dash"}
_MAX_VIDEO_BOXES = 10_000  # top-level boxes; a phone's video has a handful
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# what a browser sniffing the start of a file would take for a page
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta)\b", re.I
)
_SNIFFED_BYTES = 1024
# what makes a PDF run something: scripts (as an action, a name tree or a /JS entry) and
# launch actions (start a program or open another file)
_ACTIVE_KEYS = {"/JS", "/JavaScript"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch"}
_MAX_PDF_OBJECTS = 200_000

# how a message names the checked types: each by its usual name, in ALLOWED_TYPES' order,
# grouped as images, PDF files and videos
_TYPE_NAMES = {
    "image/jpeg": "JPG",
    "image/png": "PNG",
    "application/pdf": "PDF",
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
}
_TYPE_GROUPS = (("image/", "图片"), ("application/", "文件"), ("video/", "视频"))
# what phones save photos as by default (iPhones, many Android phones): said with the way out
PHONE_PHOTO_TYPES = {"image/heic", "image/heif", "image/avif"}


def accepted_types(accept: str | None) -> list[str]:
    """The checked types (ALLOWED_TYPES) an upload field takes, by its `accept` (the form
    schema's `x-accept`, as the page's file input carries it: MIME types, `image/*` or
    extensions, comma-separated); every checked type when it names none of them."""
    wanted = [a.strip().lower() for a in (accept or "").split(",") if a.strip()]

    def takes(mime: str) -> bool:
        return any(
            w == mime
            or (w.endswith("/*") and mime.startswith(w[:-1]))
            or w.lstrip(".") == ALLOWED_TYPES[mime]
            for w in wanted
        )

    return [mime for mime in ALLOWED_TYPES if takes(mime)] or list(ALLOWED_TYPES)


def type_names(types: Collection[str] | None = None) -> str:
    """Checked types as a message names them (“JPG、PNG 图片或 PDF 文件”); None: every one."""
    types = ALLOWED_TYPES if types is None else types
    groups = []
    for start, noun in _TYPE_GROUPS:
        names = [_TYPE_NAMES[m] for m in ALLOWED_TYPES if m in types and m.startswith(start)]
        if names:
            groups.append(f"{'、'.join(names)} {noun}")
    if len(groups) < 2:
        return "".join(groups) or type_names(None)
    return "、".join(groups[:-1]) + "或 " + groups[-1]


def wrong_type(types: Collection[str] | None = None) -> str:
    """The refusal of a file of another type, naming `types` (None: all the platform takes)."""
    return f"只能上传 {type_names(types)}（按文件内容识别，不看扩展名）"


def phone_photo(types: Collection[str] | None = None) -> str:
    """The refusal of a phone's HEIC/HEIF photo, with how to send one that is taken."""
    where = f"此项只收 {type_names(types)}" if types else f"本平台只收 {type_names()}"
    return (
        f"这是手机的 HEIC/HEIF 格式照片，{where}：请在手机“设置 → 相机 → 格式”中选择"
        "“兼容性最佳”后重新拍摄，或将照片截屏、转存为 JPG 后上传"
    )


WRONG_TYPE = wrong_type()  # said where no field is known (the upload API): the platform's
PHONE_PHOTO = phone_photo()


class WrongType(FormInvalid):
    """An upload of none of the checked types, refused at `file` with all the platform takes;
    `found` is the type its bytes show (None: unknown). A page says it at its field with
    what that field takes (`said_for`)."""

    def __init__(self, found: str | None):
        self.found = found
        super().__init__({"file": self.said_for(None)})

    def said_for(self, types: Collection[str] | None) -> str:
        """The refusal for a field taking `types` (None: anything the platform takes)."""
        if self.found in PHONE_PHOTO_TYPES and (types is None or "image/jpeg" in types):
            return phone_photo(types)
        return wrong_type(types)


def video_type(content: bytes) -> str | None:
    """`video/mp4` or `video/quicktime` when the bytes start as one (their `ftyp` box), else
    None; a cheap look at the first bytes, before `content_type` checks the whole."""
    if content[4:8] != b"ftyp":
        return None
    brand = content[8:12]
    if brand == b"qt  ":
        return "video/quicktime"
    return "video/mp4" if brand in _MP4_BRANDS else None


def content_type(content: bytes) -> str:
    """The checked type of an upload; FormInvalid when it is not a clean JPG, PNG or PDF,
    nor a whole MP4 or MOV video."""
    video = video_type(content)
    if video:
        _check_video(content)
        return video
    kind = filetype.guess(content)
    mime = kind.mime if kind is not None else None
    if mime not in ALLOWED_TYPES:
        raise WrongType(mime)  # (a phone's HEIC photo is said with the way out)
    if mime == "application/pdf":
        _check_pdf(content)
    else:
        _check_image(content, mime)
    return mime


def _check_image(content: bytes, mime: str) -> None:
    if _MARKUP.search(content[:_SNIFFED_BYTES]):
        raise FormInvalid({"file": "图片文件中含有网页代码，已拒绝"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[mime]]) as image:
                # a JPEG decodes at an eighth of its size: every block is still read, so
                # broken data fails, at a fraction of the time and memory of a phone photo
                image.draft("RGB", (image.width // 8, image.height // 8))
                image.load()  # decode: a bare header or truncated data fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FormInvalid({"file": "图片尺寸过大，请缩小后重新上传"}) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise FormInvalid({"file": "图片文件已损坏或不完整，无法打开，请重新拍摄或导出"}) from exc


def _check_video(content: bytes) -> None:
    broken = FormInvalid({"file": "视频文件已损坏或不完整，无法播放，请重新录制或导出后上传"})
    if _MARKUP.search(content[:_SNIFFED_BYTES]):
        raise FormInvalid({"file": "视频文件中含有网页代码，已拒绝"})
    kinds: list[bytes] = []
    position, end = 0, len(content)
    while position < end:
        if len(kinds) > _MAX_VIDEO_BOXES or end - position < 8:
            raise broken
        size, header = int.from_bytes(content[position : position + 4], "big"), 8
        if size == 1:  # a 64-bit size follows the type
            if end - position < 16:
                raise broken
            size, header = int.from_bytes(content[position + 8 : position + 16], "big"), 16
        elif size == 0:  # the last box: to the end of the file
            size = end - position
        if size < header or position + size > end:
            raise broken  # a box past the end: the file was cut short
        kinds.append(content[position + 4 : position + 8])
        position += size
    if b"moov" not in kinds:
        raise broken  # no movie header: nothing a player could play


def _check_pdf(content: bytes) -> None:
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormInvalid({"file": "PDF 文件设有打开密码，请去除密码后上传"})
        active = _active_content(reader)
    except FormInvalid:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise FormInvalid({"file": "PDF 文件已损坏，无法读取，请重新导出后上传"}) from exc
    if active:
        raise FormInvalid({"file": f"PDF 文件中含有{active}，不能上传，请另存为普通 PDF 后上传"})


def _active_content(reader: PdfReader) -> str | None:
    """'脚本' or '启动程序的动作' when any object of the PDF carries one; else None."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    for number, generation in _object_ids(reader):
        stack.append(IndirectObject(number, generation, reader))
    while stack:
        if len(seen) > _MAX_PDF_OBJECTS:
            raise ValueError("too many objects")
        item = stack.pop()
        if isinstance(item, IndirectObject):
            ref = (item.idnum, item.generation)
            if ref in seen:
                continue
            seen.add(ref)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found = _active_entry(item)
            if found:
                return found
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return None


def _active_entry(obj: DictionaryObject) -> str | None:
    if any(key in obj for key in _ACTIVE_KEYS):
        return "脚本"
    action = obj.get("/S")
    if isinstance(action, NameObject) and action in _ACTIVE_ACTIONS:
        return "脚本" if action == "/JavaScript" else "启动程序的动作"
    return None


def _object_ids(reader: PdfReader):
    """Every object the cross-reference names, including those inside object streams."""
    for generation, numbers in reader.xref.items():
        for number in numbers:
            yield number, generation
    for number in reader.xref_objStm:
        yield number, 0
