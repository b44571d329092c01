"""What the image tools answer: a picture as an MCP image block with its caption as the text block, and how the
caller asked to receive it (shown, saved to the output folder)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from mcp.types import ContentBlock, ImageContent
from pydantic import PrivateAttr

from ..files import output_path, write_file
from ..imaging.render import MIME_TYPES, ImageFormat
from ..imaging.window import WindowSpec
from ..runtime import Runtime
from .registry import ToolOutput

SaveKind = Literal["rendered", "encoded", "pixels", "modality"]


class Pictured(ToolOutput):
    """An answer that may carry a picture: an image block after the text block."""

    publishes_shape: ClassVar[bool] = False  # the caption says what the structured content holds
    _image: tuple[bytes, str] | None = PrivateAttr(default=None)

    def show(self, data: bytes, mime_type: str) -> None:
        self._image = (data, mime_type)

    @property
    def image(self) -> tuple[bytes, str] | None:
        """The picture shown (encoded bytes, MIME type), if any."""
        return self._image

    def extra_content(self) -> list[ContentBlock]:
        if self._image is None:
            return []
        data, mime_type = self._image
        return [ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type=mime_type)]


class Savable(Pictured):
    """A pictured answer whose picture (or data) may also be saved to the output folder."""

    saved_to: str | None = None
    _saved_note: str = PrivateAttr(default="")

    def note_saved(self, note: str) -> None:
        """What the saved file holds (e.g. its units), said after its path."""
        self._saved_note = note

    def saved_text(self) -> str:
        """ "\nSaved to PATH: note", or nothing."""
        if not self.saved_to:
            return ""
        return f"\nSaved to {self.saved_to}" + (f": {self._saved_note}" if self._saved_note else "")


class ImageAnswer(Savable):
    """An image for the model: an image block, with the caption as the text block."""

    caption: str
    width: int
    height: int
    series_instance_uid: str | None = None
    slice_count: int | None = None
    window_center: float | None = None
    window_width: float | None = None
    window_source: str | None = None

    def render(self) -> str:
        return f"{self.caption}{self.saved_text()}"


class FrameAnswer(ImageAnswer):
    sop_instance_uid: str | None = None  # of the frame shown (none for planes of a volume)
    image_frame_id: str | None = None
    instance_number: int | None = None
    slice_index: int
    plane: str | None = None
    position_mm: float | None = None
    compared_image_set_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How the caller wants the picture: window, size, format, shown or not, saved as what."""

    window: WindowSpec
    max_size: int
    image_format: ImageFormat
    include_image: bool = True
    save_as: str | None = None
    save_kind: SaveKind = "rendered"

    def deliver(self, rt: Runtime, answer: Savable, picture: bytes) -> None:
        """Show the encoded picture (when asked) and save it (when asked for the rendered picture)."""
        if self.include_image:
            answer.show(picture, MIME_TYPES[self.image_format])
        if self.save_as and self.save_kind == "rendered":
            self.save(rt, answer, "." + self.image_format.replace("jpeg", "jpg"), picture)

    def save(self, rt: Runtime, answer: Savable, suffix: str, payload: bytes, note: str = "") -> None:
        assert self.save_as is not None
        answer.saved_to = str(write_file(output_path(rt.settings.output_dir, self.save_as, suffix), payload))
        answer.note_saved(note)

    def save_array(self, rt: Runtime, answer: Savable, array: np.ndarray, note: str) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        self.save(rt, answer, ".npy", buffer.getvalue(), note)
